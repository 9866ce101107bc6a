//! Building and running the server: used by `kassa serve`, the tests and the benchmark alike.

use crate::clock::{Clock, SystemClock};
use crate::http::{AppState, app};
use crate::service::Kassa;
use crate::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    /// Base URL shoppers reach Kassa at; defaults to `http://{listen address}`.
    pub public_url: Option<String>,
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
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
        let store = Store::connect(&settings.database_url).await?;
        store.migrate().await?;
        let listener = TcpListener::bind(&settings.listen).await?;
        let addr = listener.local_addr()?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let kassa = Kassa {
            store,
            clock,
            public_url,
        };
        let router = app(AppState {
            kassa: kassa.clone(),
        });
        Ok(Application {
            listener,
            router,
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
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await?;
        self.kassa.store.close().await;
        Ok(())
    }
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
