//! Building and running the server: used by `kassa serve`, the tests and the benchmark alike.

use crate::clock::{Clock, SystemClock};
use crate::http::rate_limit::RateLimiter;
use crate::http::{AppParts, AppState, app};
use crate::service::Kassa;
use crate::store::Store;
use axum::extract::Request;
use axum_server::tls_rustls::RustlsConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    /// Base URL shoppers reach Kassa at; defaults to `http(s)://{listen address}`.
    pub public_url: Option<String>,
    /// PEM certificate chain and private key: serve HTTPS instead of HTTP.
    pub tls: Option<TlsFiles>,
    /// Request quotas of the token APIs (`KASSA_RATE_LIMIT_*`).
    pub rate_limits: crate::http::rate_limit::RateLimitConfig,
    /// How long one request may take; [`crate::http::REQUEST_TIMEOUT`] when unset.
    pub request_timeout: Option<std::time::Duration>,
    /// Whether `/v3/hooks` accepts loopback, private and other internal destinations
    /// (as the webhook dispatcher's `private_destinations`).
    pub webhook_private_destinations: bool,
}

#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

/// Makes ring the process's rustls provider (for serving HTTPS and for the webhook
/// client, which is built without a provider of its own). ring needs no C toolchain
/// beyond cc; installing twice is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub struct Application {
    listener: TcpListener,
    router: crate::http::App,
    tls: Option<RustlsConfig>,
    pub kassa: Kassa,
}

impl Application {
    /// Connects and migrates the database, binds the listener (port 0 picks a free one).
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        settings: &Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        install_tls_provider();
        let tls = match &settings.tls {
            Some(files) => Some(
                RustlsConfig::from_pem_file(&files.cert, &files.key)
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "reading TLS certificate {} and key {}: {e}",
                            files.cert.display(),
                            files.key.display()
                        )
                    })?,
            ),
            None => None,
        };
        let mut store = Store::connect(&settings.database_url).await?;
        store.migrate().await?;
        if store.backend() == "sqlite" && !store.keep_carts_in_memory(&settings.database_url) {
            // This server keeps the carts it writes in memory, which is only right while
            // no other process writes them.
            anyhow::bail!(
                "another Kassa server is using {} (it holds the lock file beside it, ending in .kassa-lock); a SQLite database serves one Kassa process: stop the other server, or use PostgreSQL to run several nodes",
                crate::store::redact_url(&settings.database_url)
            );
        }
        let listener = TcpListener::bind(&settings.listen).await?;
        let addr = listener.local_addr()?;
        let public_url = settings.public_url.clone().unwrap_or_else(|| {
            let scheme = if tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{addr}")
        });
        let mut kassa = Kassa::new(store, clock, public_url);
        kassa.webhook_private_destinations = settings.webhook_private_destinations;
        // Refunds a crash left between the gateway and the database are finished before
        // serving (the gateway call is idempotent by key, so this never refunds twice).
        match kassa.finish_pending_refunds(0).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(refunds = n, "pending refunds completed at startup"),
            Err(e) => {
                tracing::warn!(error = %e, "pending refunds not completed at startup; the sweeper retries")
            }
        }
        kassa.storefront_origins = std::sync::Arc::new(
            std::env::var("KASSA_STOREFRONT_ORIGINS")
                .unwrap_or_default()
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_string())
                .filter(|o| !o.is_empty())
                .collect(),
        );
        let router = app(AppState::new(AppParts {
            kassa: kassa.clone(),
            rate_limiter: Arc::new(RateLimiter::new(settings.rate_limits)),
            rendered_checkouts: Arc::default(),
            request_timeout: settings
                .request_timeout
                .unwrap_or(crate::http::REQUEST_TIMEOUT),
        }));
        Ok(Application {
            listener,
            router,
            tls,
            kassa,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        match self.tls {
            None => {
                axum::serve(
                    self.listener,
                    axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(
                        self.router,
                    ),
                )
                .with_graceful_shutdown(shutdown)
                .await?
            }
            Some(config) => {
                let handle = axum_server::Handle::new();
                let on_signal = handle.clone();
                tokio::spawn(async move {
                    shutdown.await;
                    on_signal.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
                });
                axum_server::tls_rustls::from_tcp_rustls(self.listener.into_std()?, config)?
                    .handle(handle)
                    .serve(
                        axum::ServiceExt::<Request>::into_make_service_with_connect_info::<
                            SocketAddr,
                        >(self.router),
                    )
                    .await?
            }
        }
        self.kassa.store.close().await;
        Ok(())
    }
}

/// Every minute, gives back what unpaid orders past their reservation hold, and finishes
/// refunds left pending for over a minute (a gateway that did not answer, a crash). Safe
/// on many nodes at once: each release is one guarded transaction, each refund's gateway
/// call is idempotent by key and its completion conditional.
pub fn spawn_reservation_sweeper(kassa: Kassa) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            match kassa.release_lapsed_orders(500).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(orders = n, "lapsed order reservations released"),
                Err(e) => tracing::warn!(error = %e, "reservation sweep failed; will retry"),
            }
            match kassa.finish_pending_refunds(60).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(refunds = n, "pending refunds completed"),
                Err(e) => tracing::warn!(error = %e, "pending refund sweep failed; will retry"),
            }
        }
    })
}

/// Every so often, deletes carts past their 30 days and idempotency keys past their
/// 24 hours. Safe on many nodes at once.
pub fn spawn_cart_sweeper(kassa: Kassa) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            loop {
                match kassa.store.purge_expired_carts(kassa.now(), 500).await {
                    Ok(500) => continue,
                    Ok(n) => {
                        if n > 0 {
                            tracing::info!(carts = n, "expired carts deleted");
                        }
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "expired cart sweep failed; will retry");
                        break;
                    }
                }
            }
            crate::http::idempotency::purge_expired_keys(&kassa).await;
        }
    })
}

/// Rows a table needs before it gets its first statistics: enough for the planner to see
/// that a store's rows are many and an order's key picks one.
const FIRST_STATISTICS_ROWS: i64 = 50;

/// PostgreSQL: every 15 seconds, gives tables that have rows but no statistics yet their
/// first ANALYZE (`store::statistics`), so a new database's cached plans are replaced
/// within seconds of its first orders. Safe on many nodes at once; nothing on SQLite.
pub fn spawn_statistics_keeper(kassa: Kassa) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if kassa.store.backend() != "postgres" {
            return;
        }
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(15));
        let mut warned = false;
        loop {
            tick.tick().await;
            match kassa
                .store
                .analyze_tables_without_statistics(FIRST_STATISTICS_ROWS)
                .await
            {
                Ok(tables) if tables.is_empty() => {}
                Ok(tables) => {
                    tracing::info!(tables = %tables.join(", "), "first planner statistics gathered")
                }
                // Autovacuum gathers them anyway; one warning is enough.
                Err(e) if !warned => {
                    warned = true;
                    tracing::warn!(error = %e, "gathering first planner statistics failed; leaving it to autovacuum");
                }
                Err(_) => {}
            }
        }
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

/// Every minute, marks carts untouched for `after_secs` abandoned (firing
/// `store/cart/abandoned` once per cart). Safe on many nodes at once.
pub fn spawn_abandoned_cart_sweeper(kassa: Kassa, after_secs: i64) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            loop {
                match kassa.abandon_idle_carts(after_secs, 500).await {
                    Ok(500) => continue,
                    Ok(0) => break,
                    Ok(n) => {
                        tracing::info!(carts = n, "carts marked abandoned");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "abandoned cart sweep failed; will retry");
                        break;
                    }
                }
            }
        }
    })
}

/// Gives the heap that starting up used and freed (migrations, the OpenAPI document,
/// the demo seed) back to the system. glibc keeps freed pages in its arenas, which left
/// an idle server at about 43 MB resident instead of 28. Called once, before serving,
/// because trimming locks every arena while it walks them.
pub fn release_startup_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim takes no pointers and has no precondition; pad 0 keeps nothing spare.
        let released = unsafe { malloc_trim(0) } != 0;
        tracing::debug!(released, "startup heap returned to the system");
    }
}
