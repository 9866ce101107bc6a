//! HTTP: routes, extractors and wire types. Handlers parse, call one use case, and
//! shape the answer; they hold no business rules.

pub mod abandoned_carts;
pub mod cart_settings;
pub mod carts;
pub mod catalog;
pub mod checkout_settings;
pub mod checkouts;
pub mod coupons;
pub mod customer_addresses;
pub mod customers;
pub mod error;
pub mod extract;
pub mod gift_certificates;
pub mod health;
pub mod idempotency;
pub mod limits;
pub mod metafields;
pub mod orders_v2;
pub mod orders_v3;
pub mod pages;
pub mod payments;
pub mod pickup;
pub mod promotion_settings;
pub mod promotions;
pub mod rate_limit;
pub mod rendered;
pub mod shipping;
pub mod stack;
pub mod storefront;
pub mod tax;
pub mod v2;
pub mod webhooks;
pub mod wire;

use crate::service::Kassa;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use error::ApiError;
use std::time::Duration;
use tower::Layer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use limits::{MAX_BODY_BYTES, REQUEST_TIMEOUT};

/// What every handler and layer shares. Extractors and layers clone the state several
/// times per request, so it is one pointer: cloning the parts themselves (a dozen
/// reference counts and a string) was a quarter of the CPU of a cached checkout GET.
#[derive(Clone, Debug)]
pub struct AppState(std::sync::Arc<AppParts>);

#[derive(Debug)]
pub struct AppParts {
    pub kassa: Kassa,
    pub rate_limiter: std::sync::Arc<rate_limit::RateLimiter>,
    pub rendered_checkouts: std::sync::Arc<rendered::RenderedCheckouts>,
    /// How long one request may take ([`REQUEST_TIMEOUT`] unless a test shortens it).
    pub request_timeout: Duration,
}

impl AppState {
    pub fn new(parts: AppParts) -> Self {
        AppState(std::sync::Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Kassa", description = "BigCommerce-compatible cart and checkout API"),
    components(schemas(error::ErrorBody)),
    modifiers(&SecurityAddon)
)]
struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "X-Auth-Token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Auth-Token"))),
        );
    }
}

pub use stack::App;

/// The whole application: API routes, health, OpenAPI, and the layers every request passes.
pub fn app(state: AppState) -> App {
    let (api, mut spec) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(carts::router())
        .merge(cart_settings::router())
        .merge(metafields::router())
        .merge(catalog::router())
        .merge(shipping::router())
        .merge(pickup::router())
        .merge(tax::router())
        .merge(checkouts::router())
        .merge(checkout_settings::router())
        .merge(coupons::router())
        .merge(payments::router())
        .merge(promotion_settings::router())
        .merge(promotions::router())
        .merge(gift_certificates::router())
        .merge(customers::router())
        .merge(customer_addresses::router())
        .merge(orders_v2::router())
        .merge(webhooks::router())
        .merge(abandoned_carts::router())
        .merge(orders_v3::router())
        .merge(storefront::router())
        .split_for_parts();
    idempotency::document(&mut spec);
    error::document(&mut spec);
    // Kept as its JSON only: the document tree of ~240 operations held about 15 MB of heap
    // for the life of the process, most of an idle server's memory.
    let spec = match serde_json::to_vec(&spec) {
        Ok(json) => axum::body::Bytes::from(json),
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document could not be serialized");
            axum::body::Bytes::new()
        }
    };
    let router = Router::new()
        .merge(api)
        .merge(health::router())
        .merge(pages::router(state.clone()))
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let spec = spec.clone();
                async move { wire::json_body_response(spec) }
            }),
        )
        .route_layer(stack::EndpointLayer)
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "No such endpoint.").into_response()
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "This endpoint does not support that method.",
            )
            .into_response()
        })
        .with_state(state.clone());
    // The layers, innermost first; `stack` says what each does and why in this order.
    let front = stack::Front::new(state, DefaultBodyLimit::max(MAX_BODY_BYTES).layer(router));
    let traced = TraceLayer::new_for_http()
        .on_response(
            tower_http::trace::DefaultOnResponse::new()
                .level(tracing::Level::INFO)
                .latency_unit(tower_http::LatencyUnit::Micros),
        )
        .make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
        })
        .layer(front);
    App::new(stack::RequestIds::new(traced))
}
