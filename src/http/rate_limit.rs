//! Request quotas for the token APIs (`/stores/{store_hash}/…`), per API client and per
//! store, answered with BigCommerce's `X-Rate-Limit-*` headers and a 429 with
//! `X-Retry-After` once a quota is spent.
//!
//! Windows are fixed (they start with a key's first request) and counted in this node's
//! memory: with N nodes behind a balancer, a client may make up to N × the quota per
//! window. Set the quotas per node accordingly (DEPLOYMENT.md). A quota of 0 means no
//! limit, and then no headers are sent, as for BigCommerce's unlimited plans.
//!
//! The client is the token as sent, hashed with a per-process random key; it is counted
//! before authentication, so a flood of bad tokens against one store spends that
//! store's quota, not the database.

use super::error::ApiError;
use super::v2::V2Error;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::ops::ControlFlow;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Quotas and their window. Read from `KASSA_RATE_LIMIT_*` by `kassa serve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub window: Duration,
    /// Requests one API client (token) may make per window and store; 0 = unlimited.
    pub client_quota: u64,
    /// Requests all clients of one store may make together per window; 0 = unlimited.
    pub store_quota: u64,
}

impl Default for RateLimitConfig {
    /// Far above what two cores serve (200,000 requests/s for one client; a node serves
    /// 60,000–110,000 `GET /checkouts/{id}` a second), so only a runaway client meets them;
    /// merchants who share a node with untrusted apps lower them.
    fn default() -> Self {
        RateLimitConfig {
            window: Duration::from_secs(30),
            client_quota: 6_000_000,
            store_quota: 12_000_000,
        }
    }
}

impl RateLimitConfig {
    /// `KASSA_RATE_LIMIT_WINDOW_MS`, `KASSA_RATE_LIMIT_CLIENT_QUOTA`,
    /// `KASSA_RATE_LIMIT_STORE_QUOTA`; unset ones keep their defaults.
    pub fn from_env() -> anyhow::Result<RateLimitConfig> {
        let mut c = RateLimitConfig::default();
        let read = |name: &str| -> anyhow::Result<Option<u64>> {
            match std::env::var(name) {
                Ok(v) => v
                    .trim()
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| anyhow::anyhow!("{name} must be a whole number, not {v:?}")),
                Err(_) => Ok(None),
            }
        };
        if let Some(ms) = read("KASSA_RATE_LIMIT_WINDOW_MS")? {
            anyhow::ensure!(ms > 0, "KASSA_RATE_LIMIT_WINDOW_MS must be above 0");
            c.window = Duration::from_millis(ms);
        }
        if let Some(q) = read("KASSA_RATE_LIMIT_CLIENT_QUOTA")? {
            c.client_quota = q;
        }
        if let Some(q) = read("KASSA_RATE_LIMIT_STORE_QUOTA")? {
            c.store_quota = q;
        }
        Ok(c)
    }

    /// No quota at all: the limiter is skipped.
    pub fn unlimited(&self) -> bool {
        self.client_quota == 0 && self.store_quota == 0
    }
}

/// Past this many tracked keys, lapsed windows are dropped; if that is not enough
/// (keys made up by the thousand), counting starts over rather than grow without bound.
const MAX_KEYS: usize = 100_000;

#[derive(Clone, Copy, Debug)]
struct Window {
    started: Instant,
    used: u64,
}

/// Stores and clients by keyed hash: no token is held in memory here, and counting a
/// request allocates nothing (a random-keyed 64-bit hash does not collide in practice).
/// Being random already, the map hashes them with a multiply ([`MixKeys`]), not SipHash.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Key {
    Store(u64),
    Client(u64, u64),
}

/// What one request learned about its quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub quota: u64,
    pub left: u64,
    pub reset: Duration,
}

/// Hashes [`Key`]s, whose parts are keyed hashes already, by multiplying them in.
#[derive(Clone, Copy, Debug, Default)]
struct MixKeys;

#[derive(Default)]
struct MixedKey(u64);

impl BuildHasher for MixKeys {
    type Hasher = MixedKey;
    fn build_hasher(&self) -> MixedKey {
        MixedKey::default()
    }
}

impl std::hash::Hasher for MixedKey {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// The counters of one node.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    windows: Mutex<HashMap<Key, Window, MixKeys>>,
    token_hasher: RandomState,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            config,
            windows: Mutex::new(HashMap::default()),
            token_hasher: RandomState::new(),
        }
    }

    pub fn config(&self) -> RateLimitConfig {
        self.config
    }

    /// Counts one request of `token` against `store_hash` at `now`. A refused request
    /// spends nothing.
    pub fn check(&self, store_hash: &str, token: &str, now: Instant) -> Verdict {
        let c = self.config;
        // Hashed outside the lock, which is held only for the map's lookups.
        let store = self.token_hasher.hash_one(store_hash);
        let client = self.token_hasher.hash_one(token);
        let Ok(mut windows) = self.windows.lock() else {
            // A panic elsewhere poisoned the counters: serve rather than refuse everyone.
            return Verdict {
                allowed: true,
                quota: c.client_quota,
                left: c.client_quota,
                reset: c.window,
            };
        };
        if windows.len() >= MAX_KEYS {
            windows.retain(|_, w| now.saturating_duration_since(w.started) < c.window);
            if windows.len() >= MAX_KEYS {
                windows.clear();
            }
        }
        let cw = *current(&mut windows, Key::Client(store, client), now, c.window);
        let sw = current(&mut windows, Key::Store(store), now, c.window);
        let left_of = |quota: u64, w: Window| (quota > 0).then(|| quota.saturating_sub(w.used));
        let reset_of = |w: Window| {
            c.window
                .saturating_sub(now.saturating_duration_since(w.started))
        };
        let client_left = left_of(c.client_quota, cw);
        let store_left = left_of(c.store_quota, *sw);
        let allowed = client_left != Some(0) && store_left != Some(0);
        // The window that runs out first is the one the client waits for.
        let reset = match (client_left, store_left) {
            (_, Some(0)) => reset_of(*sw),
            (Some(_), _) => reset_of(cw),
            (None, Some(_)) => reset_of(*sw),
            (None, None) => c.window,
        };
        if allowed {
            sw.used += 1;
            if let Some(w) = windows.get_mut(&Key::Client(store, client)) {
                w.used += 1;
            }
        }
        drop(windows);
        let spent = u64::from(allowed);
        let left = match (client_left, store_left) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => u64::MAX,
        }
        .saturating_sub(spent);
        let quota = if c.client_quota > 0 {
            c.client_quota
        } else {
            c.store_quota
        };
        Verdict {
            allowed,
            quota,
            left,
            reset,
        }
    }
}

/// `key`'s window at `now`, a new one when there was none or it lapsed.
fn current(
    windows: &mut HashMap<Key, Window, MixKeys>,
    key: Key,
    now: Instant,
    length: Duration,
) -> &mut Window {
    let w = windows.entry(key).or_insert(Window {
        started: now,
        used: 0,
    });
    if now.saturating_duration_since(w.started) >= length {
        *w = Window {
            started: now,
            used: 0,
        };
    }
    w
}

/// Puts a counted request's quota headers on its response.
pub fn set_headers(headers: &mut HeaderMap, window: Duration, v: Verdict) {
    // Named once, not parsed from a string on every response.
    const WINDOW: HeaderName = HeaderName::from_static("x-rate-limit-time-window-ms");
    const RESET: HeaderName = HeaderName::from_static("x-rate-limit-time-reset-ms");
    const QUOTA: HeaderName = HeaderName::from_static("x-rate-limit-requests-quota");
    const LEFT: HeaderName = HeaderName::from_static("x-rate-limit-requests-left");
    let ms = |d: Duration| HeaderValue::from(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    headers.insert(WINDOW, ms(window));
    headers.insert(RESET, ms(v.reset));
    headers.insert(QUOTA, HeaderValue::from(v.quota));
    headers.insert(LEFT, HeaderValue::from(v.left));
}

/// The layer's decision, before the request goes on (`super::stack` runs it): counts
/// `/stores/{store_hash}/…` requests. `Continue(None)`: not counted, no headers;
/// `Continue(Some)`: allowed, its response gets [`set_headers`]; `Break`: over quota,
/// refused in the shape of the API it was made to, headers set.
pub fn admit(limiter: &RateLimiter, req: &Request) -> ControlFlow<Response, Option<Verdict>> {
    let config = limiter.config();
    let path = req.uri().path();
    let Some(rest) = path.strip_prefix("/stores/") else {
        return ControlFlow::Continue(None);
    };
    if config.unlimited() {
        return ControlFlow::Continue(None);
    }
    let mut parts = rest.splitn(2, '/');
    let store_hash = parts.next().unwrap_or_default();
    let is_v2 = parts.next().is_some_and(|p| p.starts_with("v2/"));
    let headers = req.headers();
    let token = headers
        .get("x-auth-token")
        .or_else(|| headers.get("authorization"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let verdict = limiter.check(store_hash, token.trim(), Instant::now());
    if verdict.allowed {
        return ControlFlow::Continue(Some(verdict));
    }
    let wait = i64::try_from(verdict.reset.as_millis().div_ceil(1000)).unwrap_or(i64::MAX);
    let title = "This client has made more requests than its quota allows in this window; retry after X-Rate-Limit-Time-Reset-Ms.";
    let mut res = if is_v2 {
        V2Error::new(StatusCode::TOO_MANY_REQUESTS, title).into_response()
    } else {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, title).into_response()
    };
    let v = HeaderValue::from(wait.max(1));
    res.headers_mut().insert("retry-after", v.clone());
    res.headers_mut().insert("x-retry-after", v);
    set_headers(res.headers_mut(), config.window, verdict);
    ControlFlow::Break(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(client: u64, store: u64) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            window: Duration::from_secs(30),
            client_quota: client,
            store_quota: store,
        })
    }

    #[test]
    fn a_client_gets_its_quota_then_waits_for_the_window() {
        let l = limiter(3, 0);
        let t0 = Instant::now();
        let lefts: Vec<(bool, u64)> = (0..4)
            .map(|_| {
                let v = l.check("s", "tok", t0);
                (v.allowed, v.left)
            })
            .collect();
        assert_eq!(lefts, vec![(true, 2), (true, 1), (true, 0), (false, 0)]);
        let later = l.check("s", "tok", t0 + Duration::from_secs(10));
        assert!(!later.allowed);
        assert_eq!(later.reset, Duration::from_secs(20));
        let next = l.check("s", "tok", t0 + Duration::from_secs(30));
        assert!(next.allowed);
        assert_eq!(next.left, 2);
    }

    #[test]
    fn clients_have_their_own_quota_and_share_the_store_one() {
        let l = limiter(2, 3);
        let t0 = Instant::now();
        assert!(l.check("s", "a", t0).allowed);
        assert!(l.check("s", "a", t0).allowed);
        assert!(!l.check("s", "a", t0).allowed, "client a spent its 2");
        assert!(l.check("s", "b", t0).allowed, "store has 1 left");
        let v = l.check("s", "b", t0);
        assert!(!v.allowed, "store quota of 3 spent");
        assert!(
            l.check("other", "b", t0).allowed,
            "another store counts apart"
        );
    }

    #[test]
    fn default_quotas_stay_beyond_what_one_node_serves() {
        // One node answers over 100,000 GETs a second (BENCHMARKS.md, 2026-11-25); the
        // defaults are for runaway clients, not for a busy storefront.
        let c = RateLimitConfig::default();
        let per_second = |quota: u64| quota / c.window.as_secs();
        assert!(per_second(c.client_quota) >= 150_000, "{c:?}");
        assert!(c.store_quota >= c.client_quota, "{c:?}");
        let l = RateLimiter::new(c);
        let t0 = Instant::now();
        let second_of_gets = (0..150_000).all(|_| l.check("s", "tok", t0).allowed);
        assert!(second_of_gets, "a second at 150,000 requests/s was refused");
    }

    #[test]
    fn refused_requests_spend_nothing_and_unlimited_counts_nothing() {
        let l = limiter(1, 0);
        let t0 = Instant::now();
        assert!(l.check("s", "a", t0).allowed);
        for _ in 0..5 {
            assert!(!l.check("s", "a", t0).allowed);
        }
        assert!(l.check("s", "a", t0 + Duration::from_secs(30)).allowed);
        assert!(limiter(0, 0).config().unlimited());
    }
}
