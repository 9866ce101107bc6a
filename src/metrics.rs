//! Figures for `/metrics` in Prometheus' text format: request latency per route
//! template, responses by status, what use cases count (cart-write replays, order
//! placements retried after releasing lapsed reservations), the database pools, and the
//! SQLite writer's commit batches.
//! Lock-free on the request path: one read lock to find a route's histogram, atomics after.

use crate::store::group_commit::{BatchFigures, DURATION_BOUNDS_US, DurationHistogram, JOB_BOUNDS};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Upper bounds of the latency buckets, in microseconds (Prometheus `le`, in seconds).
const BOUNDS_US: [u64; 14] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 10_000_000,
];

/// One route's requests: latency buckets and responses by status class.
#[derive(Debug, Default)]
struct RouteFigures {
    buckets: [AtomicU64; BOUNDS_US.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
    /// 2xx, 3xx, 4xx, 5xx (index = class - 2), and 409s on their own.
    classes: [AtomicU64; 4],
    conflicts: AtomicU64,
}

/// Counters a use case bumps.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// A cart write lost a race and was replayed on the newer cart.
    CartWriteReplayed,
    /// An order placement was refused, lapsed reservations were released, and it was tried again.
    OrderPlacementRetried,
}

impl Event {
    const ALL: [Event; 2] = [Event::CartWriteReplayed, Event::OrderPlacementRetried];

    fn name(self) -> &'static str {
        match self {
            Event::CartWriteReplayed => "kassa_cart_write_replays_total",
            Event::OrderPlacementRetried => "kassa_order_placement_retries_total",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Event::CartWriteReplayed => {
                "Cart writes replayed on a newer version after losing a race."
            }
            Event::OrderPlacementRetried => {
                "Order placements retried after releasing lapsed reservations."
            }
        }
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    /// Method, then route template.
    routes: RwLock<HashMap<String, HashMap<String, Arc<RouteFigures>>>>,
    events: [AtomicU64; Event::ALL.len()],
}

impl Metrics {
    pub fn count(&self, event: Event) {
        self.events[event as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Records one answered request for `route` (the template, e.g. `/stores/{store_hash}/v3/carts/{cart_id}`).
    pub fn observe(&self, method: &str, route: &str, status: u16, took: Duration) {
        let figures = self.route(method, route);
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        if let Some(i) = BOUNDS_US.iter().position(|b| us <= *b) {
            figures.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        figures.count.fetch_add(1, Ordering::Relaxed);
        figures.sum_us.fetch_add(us, Ordering::Relaxed);
        if (200..600).contains(&status) {
            figures.classes[usize::from(status / 100 - 2)].fetch_add(1, Ordering::Relaxed);
        }
        if status == 409 {
            figures.conflicts.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn route(&self, method: &str, route: &str) -> Arc<RouteFigures> {
        // Looked up by borrowed strings: a request allocates only the first time its route is seen.
        if let Ok(routes) = self.routes.read()
            && let Some(f) = routes.get(method).and_then(|r| r.get(route))
        {
            return f.clone();
        }
        match self.routes.write() {
            Ok(mut routes) => routes
                .entry(method.to_string())
                .or_default()
                .entry(route.to_string())
                .or_default()
                .clone(),
            // A poisoned lock only means another thread panicked mid-insert; count nothing.
            Err(_) => Arc::default(),
        }
    }

    /// The text exposition; `pools` are (pool name, open connections, idle connections),
    /// `commits` the SQLite writer's group-commit figures when that is the backend.
    pub fn render(&self, pools: &[(&str, u32, usize)], commits: Option<&BatchFigures>) -> String {
        let mut out = String::new();
        let mut routes: Vec<((String, String), Arc<RouteFigures>)> = match self.routes.read() {
            Ok(r) => r
                .iter()
                .flat_map(|(method, routes)| {
                    routes
                        .iter()
                        .map(|(route, f)| ((method.clone(), route.clone()), f.clone()))
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        routes.sort_by(|a, b| a.0.cmp(&b.0));
        let _ = writeln!(
            out,
            "# HELP kassa_http_request_duration_seconds Time from request to response, per route template.\n\
             # TYPE kassa_http_request_duration_seconds histogram"
        );
        for ((method, route), f) in &routes {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            let mut cumulative = 0;
            for (i, bound) in BOUNDS_US.iter().enumerate() {
                cumulative += f.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "kassa_http_request_duration_seconds_bucket{{{labels},le=\"{}\"}} {cumulative}",
                    *bound as f64 / 1e6
                );
            }
            let count = f.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "kassa_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}\n\
                 kassa_http_request_duration_seconds_sum{{{labels}}} {}\n\
                 kassa_http_request_duration_seconds_count{{{labels}}} {count}",
                f.sum_us.load(Ordering::Relaxed) as f64 / 1e6
            );
        }
        let _ = writeln!(
            out,
            "# HELP kassa_http_responses_total Responses per route template and status class.\n\
             # TYPE kassa_http_responses_total counter"
        );
        for ((method, route), f) in &routes {
            for (i, class) in ["2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
                let n = f.classes[i].load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "kassa_http_responses_total{{method=\"{method}\",route=\"{}\",status=\"{class}\"}} {n}",
                        escape(route)
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP kassa_conflicts_total 409 answers per route template (stale versions, payments in progress, idempotency keys in flight).\n\
             # TYPE kassa_conflicts_total counter"
        );
        for ((method, route), f) in &routes {
            let n = f.conflicts.load(Ordering::Relaxed);
            if n > 0 {
                let _ = writeln!(
                    out,
                    "kassa_conflicts_total{{method=\"{method}\",route=\"{}\"}} {n}",
                    escape(route)
                );
            }
        }
        // Orders and payments, from their routes' successful answers.
        let successes = |method: &str, suffix: &str| -> u64 {
            routes
                .iter()
                .filter(|((m, r), _)| m == method && r.ends_with(suffix))
                .map(|(_, f)| f.classes[0].load(Ordering::Relaxed))
                .sum()
        };
        let refusals = |method: &str, suffix: &str| -> u64 {
            routes
                .iter()
                .filter(|((m, r), _)| m == method && r.ends_with(suffix))
                .map(|(_, f)| f.classes[2].load(Ordering::Relaxed))
                .sum()
        };
        let _ = writeln!(
            out,
            "# HELP kassa_orders_placed_total Orders placed from checkouts.\n\
             # TYPE kassa_orders_placed_total counter\n\
             kassa_orders_placed_total {}\n\
             # HELP kassa_payments_total Process-payment answers: approved, or refused (declined, invalid, already paid).\n\
             # TYPE kassa_payments_total counter\n\
             kassa_payments_total{{outcome=\"approved\"}} {}\n\
             kassa_payments_total{{outcome=\"refused\"}} {}",
            successes("POST", "/checkouts/{checkout_id}/orders"),
            successes("POST", "/{store_hash}/payments"),
            refusals("POST", "/{store_hash}/payments"),
        );
        for e in Event::ALL {
            let _ = writeln!(
                out,
                "# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}",
                e.name(),
                e.help(),
                self.events[e as usize].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP kassa_db_pool_connections Database connections open and idle, per pool.\n\
             # TYPE kassa_db_pool_connections gauge"
        );
        for (pool, size, idle) in pools {
            let _ = writeln!(
                out,
                "kassa_db_pool_connections{{pool=\"{pool}\",state=\"open\"}} {size}\n\
                 kassa_db_pool_connections{{pool=\"{pool}\",state=\"idle\"}} {idle}"
            );
        }
        if let Some(c) = commits {
            render_commits(&mut out, c);
        }
        out
    }
}

/// How reads of products and of channels' purchasing overrides were answered: from the
/// memory of a server that owns its SQLite file, or by the database.
pub fn render_memory(out: &mut String, m: crate::store::MemoryFigures) {
    let _ = writeln!(
        out,
        "# HELP kassa_product_reads_total Reads of the products a cart change needs: answered from memory, or by a statement.\n\
         # TYPE kassa_product_reads_total counter\n\
         kassa_product_reads_total{{from=\"memory\"}} {}\n\
         kassa_product_reads_total{{from=\"database\"}} {}\n\
         # HELP kassa_channel_override_reads_total Reads of a channel's allow_purchasing override: answered from memory, or by a statement.\n\
         # TYPE kassa_channel_override_reads_total counter\n\
         kassa_channel_override_reads_total{{from=\"memory\"}} {}\n\
         kassa_channel_override_reads_total{{from=\"database\"}} {}",
        m.products_from_memory,
        m.products_from_database,
        m.overrides_from_memory,
        m.overrides_from_database,
    );
    if let Some(c) = m.carts {
        let _ = writeln!(
            out,
            "# HELP kassa_cart_reads_total PostgreSQL: whole-cart reads (such as GET of a checkout), many answered by one statement.\n\
             # TYPE kassa_cart_reads_total counter\n\
             kassa_cart_reads_total {}\n\
             # HELP kassa_cart_read_statements_total PostgreSQL: the statements that answered whole-cart reads.\n\
             # TYPE kassa_cart_read_statements_total counter\n\
             kassa_cart_read_statements_total {}\n\
             # HELP kassa_cart_documents_total PostgreSQL: carts read, taken from this node's copy (the database confirmed its version) or parsed from the document it sent.\n\
             # TYPE kassa_cart_documents_total counter\n\
             kassa_cart_documents_total{{from=\"copy\"}} {}\n\
             kassa_cart_documents_total{{from=\"database\"}} {}\n\
             # HELP kassa_cart_changes_from_copy_total PostgreSQL: cart changes made from this node's copy without reading the cart, by how their one statement went (written, or refused because the copy, the configuration or a product had changed, and made again on the cart it read).\n\
             # TYPE kassa_cart_changes_from_copy_total counter\n\
             kassa_cart_changes_from_copy_total{{outcome=\"written\"}} {}\n\
             kassa_cart_changes_from_copy_total{{outcome=\"refused\"}} {}",
            c.reads,
            c.statements,
            c.from_copy,
            c.from_document,
            c.changes_from_copy,
            c.changes_refused,
        );
    }
}

/// The SQLite writer's batches: how many, how full, how long their COMMIT took.
fn render_commits(out: &mut String, c: &BatchFigures) {
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "# HELP kassa_sqlite_commit_batches_total SQLite write batches (one COMMIT, one fsync each), by outcome.\n\
         # TYPE kassa_sqlite_commit_batches_total counter\n\
         kassa_sqlite_commit_batches_total{{outcome=\"committed\"}} {}\n\
         kassa_sqlite_commit_batches_total{{outcome=\"failed\"}} {}\n\
         # HELP kassa_sqlite_commit_jobs_rolled_back_total Write transactions rolled back to their savepoint inside a batch.\n\
         # TYPE kassa_sqlite_commit_jobs_rolled_back_total counter\n\
         kassa_sqlite_commit_jobs_rolled_back_total {}\n\
         # HELP kassa_sqlite_commit_batch_jobs Committed write transactions per batch.\n\
         # TYPE kassa_sqlite_commit_batch_jobs histogram",
        load(&c.batches) - load(&c.failed_batches),
        load(&c.failed_batches),
        load(&c.rolled_back_jobs),
    );
    let batches = load(&c.batches);
    let mut cumulative = 0;
    for (i, bound) in JOB_BOUNDS.iter().enumerate() {
        cumulative += load(&c.jobs_buckets[i]);
        let _ = writeln!(
            out,
            "kassa_sqlite_commit_batch_jobs_bucket{{le=\"{bound}\"}} {cumulative}"
        );
    }
    let _ = writeln!(
        out,
        "kassa_sqlite_commit_batch_jobs_bucket{{le=\"+Inf\"}} {batches}\n\
         kassa_sqlite_commit_batch_jobs_sum {}\n\
         kassa_sqlite_commit_batch_jobs_count {batches}",
        load(&c.jobs),
    );
    render_durations(
        out,
        "kassa_sqlite_commit_duration_seconds",
        "Time a batch's COMMIT took (with its fsync when KASSA_SQLITE_OVERLAP_SYNC=0).",
        &c.commit,
    );
    render_durations(
        out,
        "kassa_sqlite_wal_sync_duration_seconds",
        "Time an fsync of the WAL took on the writer's sync thread (one per group of committed batches).",
        &c.wal_sync,
    );
    render_durations(
        out,
        "kassa_sqlite_write_lease_wait_seconds",
        "Time a write transaction waited for the write connection (behind the batch running or committing).",
        &c.lease_wait,
    );
    render_durations(
        out,
        "kassa_sqlite_write_commit_wait_seconds",
        "Time from a write transaction's commit() to its batch's COMMIT returning.",
        &c.commit_wait,
    );
    render_durations(
        out,
        "kassa_sqlite_write_job_hold_seconds",
        "Time the writer spent on one write transaction, from handing it the connection to getting it back.",
        &c.job_hold,
    );
    render_durations(
        out,
        "kassa_sqlite_write_direct_job_seconds",
        "Time the writer spent on one direct write (run on the writer itself; a subset of the transactions above).",
        &c.direct_hold,
    );
}

fn render_durations(out: &mut String, name: &str, help: &str, h: &DurationHistogram) {
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    let mut cumulative = 0;
    for (i, bound) in DURATION_BOUNDS_US.iter().enumerate() {
        cumulative += load(&h.buckets[i]);
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"{}\"}} {cumulative}",
            *bound as f64 / 1e6
        );
    }
    let count = load(&h.count);
    let _ = writeln!(
        out,
        "{name}_bucket{{le=\"+Inf\"}} {count}\n{name}_sum {}\n{name}_count {count}",
        load(&h.sum_us) as f64 / 1e6
    );
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_counts_add_up() {
        let m = Metrics::default();
        m.observe("GET", "/a/{id}", 200, Duration::from_micros(300));
        m.observe("GET", "/a/{id}", 409, Duration::from_millis(20));
        m.observe("GET", "/a/{id}", 200, Duration::from_secs(30));
        m.count(Event::CartWriteReplayed);
        let text = m.render(&[("write", 1, 1)], None);
        assert!(text.contains(
            "kassa_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"0.0005\"} 1"
        ));
        assert!(text.contains(
            "kassa_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"0.025\"} 2"
        ));
        // 30 s is past every bound: only in +Inf.
        assert!(text.contains(
            "kassa_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"10\"} 2"
        ));
        assert!(text.contains(
            "kassa_http_request_duration_seconds_count{method=\"GET\",route=\"/a/{id}\"} 3"
        ));
        assert!(text.contains("kassa_conflicts_total{method=\"GET\",route=\"/a/{id}\"} 1"));
        assert!(text.contains(
            "kassa_http_responses_total{method=\"GET\",route=\"/a/{id}\",status=\"4xx\"} 1"
        ));
        assert!(text.contains("kassa_cart_write_replays_total 1"));
        assert!(text.contains("kassa_db_pool_connections{pool=\"write\",state=\"open\"} 1"));
    }
}
