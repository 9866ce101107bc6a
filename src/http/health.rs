//! Liveness and readiness.

use super::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
}

/// Prometheus text exposition (figures of this node only).
async fn metrics(State(state): State<AppState>) -> axum::response::Response {
    let mut text = state.kassa.metrics.render(
        &state.kassa.store.pool_stats(),
        state.kassa.store.commit_figures(),
    );
    crate::metrics::render_memory(&mut text, state.kassa.store.memory_figures());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn health() -> axum::response::Response {
    super::wire::json_response(&json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> (StatusCode, axum::response::Response) {
    if state.kassa.store.ping().await {
        (
            StatusCode::OK,
            super::wire::json_response(
                &json!({ "status": "ready", "database": state.kassa.store.backend() }),
            ),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            super::wire::json_response(
                &json!({ "status": "unavailable", "database": state.kassa.store.backend() }),
            ),
        )
    }
}
