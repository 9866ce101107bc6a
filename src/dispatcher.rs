//! The webhook dispatcher: a background task that fans outbox events out to matching
//! hooks and POSTs them, retrying with exponential backoff, at least once and in order
//! per (hook, resource). All its state is in the database, so a restart loses nothing
//! and several nodes can run it on one PostgreSQL database (see `store::webhooks`).

use crate::domain::webhook::{PRIVATE_REFUSED, backoff_ms, forbidden_destination_address, host_ip};
use crate::service::Kassa;
use crate::store::webhooks::{DeliveryOutcome, LeasedDelivery};
use std::time::Duration;
use tokio::task::JoinSet;

#[derive(Clone, Debug)]
pub struct DispatcherConfig {
    /// Pause between rounds when there is nothing to do (`KASSA_WEBHOOK_POLL_MS`).
    pub poll: Duration,
    /// First retry delay, doubled per failed attempt (`KASSA_WEBHOOK_RETRY_BASE_MS`).
    pub retry_base: Duration,
    /// Attempts before an event is given up and its hook deactivated
    /// (`KASSA_WEBHOOK_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    /// Time allowed for one POST.
    pub timeout: Duration,
    /// Deliveries leased per round.
    pub batch: i64,
    /// Whether webhooks may go to loopback, private, link-local and other internal
    /// addresses (`KASSA_WEBHOOK_PRIVATE_DESTINATIONS=allow`; refused by default so a
    /// hook cannot reach the cloud metadata service or services behind the firewall).
    pub private_destinations: bool,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            poll: Duration::from_millis(1000),
            retry_base: Duration::from_secs(60),
            max_attempts: 12,
            timeout: Duration::from_secs(10),
            batch: 100,
            private_destinations: false,
        }
    }
}

impl DispatcherConfig {
    /// Defaults overridden by `KASSA_WEBHOOK_*` variables; a malformed value is an error.
    pub fn from_env() -> anyhow::Result<DispatcherConfig> {
        fn var<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
            match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| anyhow::anyhow!("{name}=`{v}` is not a whole number")),
                _ => Ok(None),
            }
        }
        let mut c = DispatcherConfig::default();
        if let Some(ms) = var::<u64>("KASSA_WEBHOOK_POLL_MS")? {
            c.poll = Duration::from_millis(ms.max(1));
        }
        if let Some(ms) = var::<u64>("KASSA_WEBHOOK_RETRY_BASE_MS")? {
            c.retry_base = Duration::from_millis(ms);
        }
        if let Some(n) = var::<u32>("KASSA_WEBHOOK_MAX_ATTEMPTS")? {
            c.max_attempts = n.max(1);
        }
        if let Some(allow) = private_destinations_setting()? {
            c.private_destinations = allow;
        }
        Ok(c)
    }

    /// Whether `KASSA_WEBHOOK_PRIVATE_DESTINATIONS` was set at all (the demo allows
    /// private destinations unless the operator said otherwise).
    pub fn private_destinations_set() -> bool {
        std::env::var("KASSA_WEBHOOK_PRIVATE_DESTINATIONS").is_ok_and(|v| !v.trim().is_empty())
    }

    /// A lease outlives one POST by a margin, so a live node's lease never lapses mid-send.
    fn lease_ms(&self) -> i64 {
        (self.timeout.as_millis() as i64) * 2 + 5_000
    }
}

/// `KASSA_WEBHOOK_PRIVATE_DESTINATIONS`: `allow` or `deny` (unset: `None`).
fn private_destinations_setting() -> anyhow::Result<Option<bool>> {
    match std::env::var("KASSA_WEBHOOK_PRIVATE_DESTINATIONS") {
        Ok(v) if !v.trim().is_empty() => match v.trim() {
            "allow" => Ok(Some(true)),
            "deny" => Ok(Some(false)),
            other => {
                anyhow::bail!("KASSA_WEBHOOK_PRIVATE_DESTINATIONS=`{other}`: use `allow` or `deny`")
            }
        },
        _ => Ok(None),
    }
}

/// Resolves destination host names and keeps only the addresses webhooks may go to.
/// The HTTP client connects to exactly the addresses returned here, so a name that
/// resolves to a public address when checked and a private one later (DNS rebinding)
/// cannot slip through: there is no second lookup.
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<std::net::SocketAddr> = all
                .into_iter()
                .filter(|a| !forbidden_destination_address(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(
                    format!("`{host}` resolves only to addresses that {PRIVATE_REFUSED}").into(),
                );
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Why `destination` may not be delivered to as written: its host is an IP address
/// webhooks may not go to (names are checked when resolved, by `PublicOnlyResolver`).
fn refused_literal_destination(destination: &str) -> Option<String> {
    let url = reqwest::Url::parse(destination).ok()?;
    let ip = host_ip(url.host_str()?)?;
    forbidden_destination_address(ip).then(|| format!("`{ip}` {PRIVATE_REFUSED}"))
}

/// Delivered and given-up deliveries, and fanned-out events, are kept this long
/// (for operators looking into what was sent), then purged.
const HISTORY_DAYS: i64 = 7;
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Wall-clock milliseconds. Delivery pacing (retries, leases) is transport timing
/// shared between nodes, not business time, so it does not follow the app's clock.
fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// Starts the dispatcher; abort the handle to stop it (a delivery in flight then simply
/// keeps its lease until it lapses, and is sent again).
pub fn spawn_dispatcher(
    kassa: Kassa,
    config: DispatcherConfig,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    crate::startup::install_tls_provider();
    let mut builder = reqwest::Client::builder()
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none());
    if !config.private_destinations {
        // No proxy either: a proxy would resolve and connect where it likes.
        builder = builder
            .dns_resolver(std::sync::Arc::new(PublicOnlyResolver))
            .no_proxy();
    }
    let client = builder.build()?;
    let owner = uuid::Uuid::new_v4().to_string();
    Ok(tokio::spawn(async move {
        let mut last_purge = tokio::time::Instant::now();
        loop {
            if last_purge.elapsed() >= PURGE_EVERY {
                last_purge = tokio::time::Instant::now();
                let keep_ms = HISTORY_DAYS * 24 * 60 * 60 * 1000;
                match kassa
                    .store
                    .purge_webhook_history(now_ms() - keep_ms, kassa.now() - keep_ms / 1000)
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "old webhook history purged"),
                    Err(e) => tracing::warn!(error = %e, "webhook history purge failed"),
                }
            }
            let worked = match round(&kassa, &client, &config, &owner).await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook dispatch round failed; will retry");
                    false
                }
            };
            if !worked {
                tokio::time::sleep(config.poll).await;
            }
        }
    }))
}

/// One round: fan out new events, lease due deliveries, send them concurrently (each
/// is the head of its own (hook, resource) queue). Returns how much was done.
async fn round(
    kassa: &Kassa,
    client: &reqwest::Client,
    config: &DispatcherConfig,
    owner: &str,
) -> anyhow::Result<usize> {
    let fanned = kassa.store.fan_out_events(500, now_ms()).await?;
    let leased = kassa
        .store
        .lease_deliveries(owner, now_ms(), config.lease_ms(), config.batch)
        .await?;
    let sent = leased.len();
    let mut tasks = JoinSet::new();
    for d in leased {
        let client = client.clone();
        let kassa = kassa.clone();
        let config = config.clone();
        let owner = owner.to_string();
        tasks.spawn(async move {
            let outcome = send(&client, &config, &d).await;
            if let Err(e) = kassa
                .store
                .finish_delivery(d.id, d.hook_id, &owner, &outcome)
                .await
            {
                // The lease lapses and the event is sent again: at least once.
                tracing::warn!(error = %e, delivery = d.id, "recording a webhook delivery failed");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok(fanned + sent)
}

/// An error and its causes, so that the reason (a refused address, a refused
/// connection) reaches the delivery's recorded error.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

async fn send(
    client: &reqwest::Client,
    config: &DispatcherConfig,
    d: &LeasedDelivery,
) -> DeliveryOutcome {
    let mut req = client
        .post(&d.destination)
        .header("Content-Type", "application/json")
        .body(d.payload.clone());
    for (k, v) in &d.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let refused = if config.private_destinations {
        None
    } else {
        refused_literal_destination(&d.destination)
    };
    let error = match refused {
        Some(why) => why,
        None => match req.send().await {
            Ok(res) if res.status().is_success() => {
                return DeliveryOutcome::Delivered { at_ms: now_ms() };
            }
            Ok(res) => format!("destination answered {}", res.status()),
            Err(e) => format!("sending failed: {}", with_causes(&e)),
        },
    };
    let attempts = u32::try_from(d.attempts)
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    tracing::info!(delivery = d.id, hook = d.hook_id, attempts, %error, "webhook delivery failed");
    if attempts >= config.max_attempts {
        DeliveryOutcome::GiveUp { error }
    } else {
        let base = config.retry_base.as_millis() as u64;
        DeliveryOutcome::Retry {
            next_attempt_at: now_ms() + backoff_ms(base, attempts) as i64,
            error,
        }
    }
}
