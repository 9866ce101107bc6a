//! The layers every request passes, as a few hand-written services instead of one
//! `axum::middleware::from_fn` layer each. Those cost every request, per layer, a clone
//! of the whole service stack inside it (its reference counts bouncing between cores), a
//! boxed `Next` and a boxed future; with a dozen layers that was a fifth of the CPU of a
//! cached checkout `GET`. Here the stack is built once around the router, so a request
//! clones nothing of it.
//!
//! Outermost first:
//! 1. [`RequestIds`]: `X-Request-Id` (the client's, else a new one), on the response too.
//! 2. tower-http's `TraceLayer`: the request's span (with that id) and its log line.
//! 3. [`Front`], in this order:
//!    - the deadline ([`limits`]): 431 for oversized headers, 408/503 when the request
//!      runs out of time; every 503 leaves with its `Retry-After`;
//!    - panics become a 500 in the API's shape (inside the deadline, outside the rest);
//!    - the storefront guard ([`storefront::guard`]), only on the storefront's paths;
//!      outside the v3 error mapping, so storefront answers leave in the storefront's shape;
//!    - extractors' plain-text refusals rewritten in the v3 shape
//!      ([`error::plain_rejections_as_v3`]);
//!    - the rate limit ([`rate_limit`]), its headers on the response;
//!    - the request's time on `/metrics`, under the route template that [`Endpoint`]
//!      found.
//! 4. `DefaultBodyLimit`, for the extractors, then the router.
//! 5. [`Endpoint`], around each endpoint the router found (`route_layer`): the
//!    `Idempotency-Key` layer ([`idempotency`]) and the route template for `/metrics`.

use super::error::{self, ApiError};
use super::{AppState, idempotency, limits, rate_limit, storefront};
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Either};
use std::cell::Cell;
use std::convert::Infallible;
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Instant;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

// ---------- the whole ----------

/// The application as the server runs it: the layers and the router behind one pointer,
/// for requests with any body (axum's server hands it axum's `Body`, the TLS server
/// hyper's own).
#[derive(Clone)]
pub struct App(BoxCloneSyncService<Request, Response, Infallible>);

impl App {
    pub fn new<S>(service: S) -> Self
    where
        S: Service<Request, Response = Response, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        App(BoxCloneSyncService::new(service))
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("App")
    }
}

impl<B> Service<axum::http::Request<B>> for App
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        self.0.call(req.map(Body::new))
    }
}

// ---------- request ids ----------

/// Sets `X-Request-Id` on a request that has none, and copies the request's onto a
/// response that has none. New ids need no randomness per request: the app's random
/// prefix and a counter (`3f9c0e2a1b7d4c55-1a2b`), unique across nodes.
#[derive(Clone, Debug)]
pub struct RequestIds<S> {
    inner: S,
    prefix: u64,
}

impl<S> RequestIds<S> {
    pub fn new(inner: S) -> Self {
        RequestIds {
            inner,
            prefix: uuid::Uuid::new_v4().as_u64_pair().0,
        }
    }
}

/// Counters are handed to threads in blocks, so that the cores do not pass one counter
/// back and forth on every request.
static NEXT_ID_BLOCK: AtomicU64 = AtomicU64::new(0);
const ID_BLOCK: u64 = 1024;

thread_local! {
    /// This thread's next counter and the end of its block.
    static IDS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

fn next_counter() -> u64 {
    IDS.with(|ids| {
        let (mut next, mut end) = ids.get();
        if next == end {
            next = NEXT_ID_BLOCK.fetch_add(ID_BLOCK, Ordering::Relaxed);
            end = next + ID_BLOCK;
        }
        ids.set((next + 1, end));
        next
    })
}

/// `{prefix:016x}-{n:x}`, written without allocating a string.
fn request_id(prefix: u64, n: u64) -> Option<HeaderValue> {
    use std::io::Write as _;
    let mut buf = [0u8; 40];
    let mut out = &mut buf[..];
    write!(out, "{prefix:016x}-{n:x}").ok()?;
    let len = 40 - out.len();
    HeaderValue::from_bytes(&buf[..len]).ok()
}

impl<S, B> Service<Request> for RequestIds<S>
where
    S: Service<Request, Response = axum::http::Response<B>>,
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = WithRequestId<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let id = match req.headers().get(X_REQUEST_ID) {
            Some(id) => Some(id.clone()),
            None => {
                let n = next_counter();
                // Made twice rather than cloned: a clone would turn the value's buffer
                // into a shared one, an allocation and a reference count of its own.
                if let Some(id) = request_id(self.prefix, n) {
                    req.headers_mut().insert(X_REQUEST_ID, id);
                }
                request_id(self.prefix, n)
            }
        };
        WithRequestId {
            inner: self.inner.call(req),
            id,
        }
    }
}

pin_project_lite::pin_project! {
    pub struct WithRequestId<F> {
        #[pin]
        inner: F,
        id: Option<HeaderValue>,
    }
}

impl<F, B, E> Future for WithRequestId<F>
where
    F: Future<Output = Result<axum::http::Response<B>, E>>,
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = ready!(this.inner.poll(cx))?;
        if !res.headers().contains_key(X_REQUEST_ID)
            && let Some(id) = this.id.take()
        {
            res.headers_mut().insert(X_REQUEST_ID, id);
        }
        Poll::Ready(Ok(res.map(Body::new)))
    }
}

// ---------- the front door ----------

/// Deadline, panics, storefront guard, v3 error shape, rate limit and metrics (see the
/// module docs for their order and why), around `inner`, the router.
#[derive(Clone, Debug)]
pub struct Front<S> {
    state: AppState,
    inner: S,
}

impl<S> Front<S> {
    pub fn new(state: AppState, inner: S) -> Self {
        Front { state, inner }
    }
}

/// The answer to a request whose handling panicked.
fn panicked() -> Response {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "An unexpected error occurred.",
    )
    .into_response()
}

impl<S> Front<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    /// The rate limit, then the router; on the way out the request's time on
    /// `/metrics`, its quota headers, and a plain-text refusal rewritten in the v3 shape.
    /// Everything before the router runs now, so the returned future owns only the
    /// router's future and what the way out needs.
    fn route(&mut self, mut req: Request) -> impl Future<Output = Response> + Send + use<S> {
        let routed = match rate_limit::admit(&self.state.rate_limiter, &req) {
            ControlFlow::Continue(verdict) => {
                if idempotency::applies_to(&req) {
                    // Only these requests hand the state on: [`Endpoint`] needs it for them.
                    req.extensions_mut().insert(self.state.clone());
                }
                let method = req.method().clone();
                Ok((verdict, method, Instant::now(), self.inner.call(req)))
            }
            ControlFlow::Break(refused) => Err(refused),
        };
        let state = self.state.clone();
        async move {
            let res = match routed {
                Ok((verdict, method, started, routed)) => {
                    let Ok(mut res) = routed.await;
                    if let Some(RouteTemplate(route)) = res.extensions().get() {
                        state.kassa.metrics.observe(
                            method.as_str(),
                            route.as_str(),
                            res.status().as_u16(),
                            started.elapsed(),
                        );
                    }
                    if let Some(v) = verdict {
                        let window = state.rate_limiter.config().window;
                        rate_limit::set_headers(res.headers_mut(), window, v);
                    }
                    res
                }
                Err(refused) => refused,
            };
            error::plain_rejections_as_v3(res).await
        }
    }
}

impl<S> Service<Request> for Front<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let limit = self.state.request_timeout;
        let until = Instant::now() + limit;
        let (req, expiry) = match limits::admit(req) {
            ControlFlow::Continue(admitted) => admitted,
            ControlFlow::Break(refused) => {
                let res = error::retry_after_when_unavailable(refused);
                return Box::pin(std::future::ready(Ok(res)));
            }
        };
        let work = if storefront::is_shopper_path(req.uri().path()) {
            let mut front = self.clone();
            Either::Left(async move {
                let state = front.state.clone();
                storefront::guard(&state, req, move |req| front.route(req)).await
            })
        } else {
            // The part of the work that runs before its future is polled may panic too.
            match std::panic::catch_unwind(AssertUnwindSafe(|| self.route(req))) {
                Ok(routed) => Either::Right(routed),
                Err(_) => return Box::pin(std::future::ready(Ok(panicked()))),
            }
        };
        Box::pin(async move {
            let res = match limits::Within::new(AssertUnwindSafe(work).catch_unwind(), until).await
            {
                Ok(Ok(res)) => res,
                Ok(Err(_)) => panicked(),
                Err(()) => expiry.answer(limit),
            };
            Ok(error::retry_after_when_unavailable(res))
        })
    }
}

// ---------- around each endpoint ----------

/// The route template of the endpoint that answered, carried on its response for
/// [`Front`]'s metrics (the router knows it only on the way in).
#[derive(Clone, Debug)]
struct RouteTemplate(MatchedPath);

/// Installs [`Endpoint`] with `Router::route_layer`.
#[derive(Clone, Copy, Debug)]
pub struct EndpointLayer;

impl<S> Layer<S> for EndpointLayer {
    type Service = Endpoint<S>;

    fn layer(&self, inner: S) -> Endpoint<S> {
        Endpoint { inner }
    }
}

/// Around each endpoint, so only requests that reach one can claim an
/// `Idempotency-Key`, and only they are timed under a route template. Holds nothing but
/// the endpoint: the router clones it for every request.
#[derive(Clone, Debug)]
pub struct Endpoint<S> {
    inner: S,
}

impl<S> Service<Request> for Endpoint<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Tagged<Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let route = req.extensions().get::<MatchedPath>().cloned();
        let inner = if idempotency::applies_to(&req) {
            let state = req.extensions_mut().remove::<AppState>();
            let endpoint = self.inner.clone();
            Either::Right(
                async move {
                    let Some(state) = state else {
                        tracing::error!("an Idempotency-Key request reached its endpoint without the app's state");
                        return Ok(panicked());
                    };
                    let next = move |req| endpoint.oneshot(req).map(|Ok(res)| res);
                    Ok(idempotency::idempotency(state, req, next).await)
                }
                .boxed(),
            )
        } else {
            Either::Left(self.inner.call(req))
        };
        Tagged { inner, route }
    }
}

pin_project_lite::pin_project! {
    pub struct Tagged<F> {
        #[pin]
        inner: F,
        route: Option<MatchedPath>,
    }
}

impl<F> Future for Tagged<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut res) = ready!(this.inner.poll(cx));
        if let Some(route) = this.route.take() {
            res.extensions_mut().insert(RouteTemplate(route));
        }
        Poll::Ready(Ok(res))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_the_prefix_and_a_counter_in_hex() {
        let id = request_id(0x3f9c_0e2a_1b7d_4c55, 0x1a2b);
        assert_eq!(
            id.as_ref().and_then(|v| v.to_str().ok()),
            Some("3f9c0e2a1b7d4c55-1a2b")
        );
        let id = request_id(7, u64::MAX);
        assert_eq!(
            id.as_ref().and_then(|v| v.to_str().ok()),
            Some("0000000000000007-ffffffffffffffff")
        );
    }

    #[test]
    fn threads_never_hand_out_the_same_counter() {
        let threads: Vec<std::thread::JoinHandle<Vec<u64>>> = (0..4)
            .map(|_| std::thread::spawn(|| (0..3 * ID_BLOCK).map(|_| next_counter()).collect()))
            .collect();
        let counters: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap_or_default())
            .collect();
        let distinct: std::collections::HashSet<u64> = counters.iter().copied().collect();
        assert_eq!(counters.len(), 4 * 3 * ID_BLOCK as usize);
        assert_eq!(distinct.len(), counters.len());
    }
}
