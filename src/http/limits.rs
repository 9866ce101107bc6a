//! Limits on what one request may ask of Kassa: body size, header size, JSON nesting and
//! time. Each is refused with its own 4xx (or 503) in the API's error shape, so a client
//! learns which limit it hit.
//!
//! hyper refuses a request head of more than about 400 KiB, or with more than 100
//! headers, on its own with an empty 431 before Kassa sees it; [`MAX_HEADER_BYTES`] is far
//! below that, so every realistic oversized head gets the explained 431 from here.

use super::error::ApiError;
use super::v2::V2Error;
use axum::body::Body;
use axum::extract::Request;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The names and values of all request headers together may take this many bytes.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Arrays and objects nested deeper than this in a JSON body are refused with 400; the
/// deepest body of the APIs Kassa speaks nests about 8 levels.
pub const MAX_JSON_DEPTH: usize = 32;
/// A request still running after this is answered 408 (body still arriving) or 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A limit's refusal, in the V2 shape on V2 paths (`/v2/` in the path) and the V3 shape
/// everywhere else.
fn refuse(v2: bool, status: StatusCode, title: String) -> Response {
    if v2 {
        V2Error::new(status, title).into_response()
    } else {
        ApiError::new(status, title).into_response()
    }
}

/// The one answer to a body that could not be read: too large (413) or cut off (400).
pub fn body_read_error(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body is larger than this API accepts ({MAX_BODY_BYTES} bytes)."),
        )
    } else {
        ApiError::bad_request("The request body could not be read.")
    }
}

/// The 431 for a request whose headers together exceed [`MAX_HEADER_BYTES`].
fn headers_too_large(req: &Request) -> Option<Response> {
    let size: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    (size > MAX_HEADER_BYTES).then(|| {
        refuse(
            req.uri().path().contains("/v2/"),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "The request headers take {size} bytes; this API accepts at most {MAX_HEADER_BYTES}."
            ),
        )
    })
}

/// How deeply arrays and objects nest in `json` (strings skipped), counted only up to
/// one past `max` so a hostile body costs no more than a scan.
pub fn json_depth_exceeds(json: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// What a request's deadline answers when it runs out: the work is dropped (an
/// uncommitted transaction rolls back) and the client hears why, 408 when its body had
/// not fully arrived, 503 (with `Retry-After`, from the layer around) when Kassa was the
/// slow one. Made by [`admit`]; `super::stack::Front` keeps the time with [`Within`].
pub struct Expiry {
    v2: bool,
    /// Set once the body has fully arrived; `None` when there was no body to wait for.
    received: Option<Arc<AtomicBool>>,
}

/// The checks before a request may start: oversized headers are refused (431, `Break`),
/// and a body still to arrive is watched, so that its deadline can tell who was slow.
pub fn admit(req: Request) -> ControlFlow<Response, (Request, Expiry)> {
    if let Some(res) = headers_too_large(&req) {
        return ControlFlow::Break(res);
    }
    let v2 = req.uri().path().contains("/v2/");
    let (parts, body) = req.into_parts();
    if axum::body::HttpBody::is_end_stream(&body) {
        let req = Request::from_parts(parts, body);
        return ControlFlow::Continue((req, Expiry { v2, received: None }));
    }
    // Marks the body as received once its stream ends.
    let received = Arc::new(AtomicBool::new(false));
    let flag = received.clone();
    let end = futures_util::stream::poll_fn(move |_| {
        flag.store(true, Ordering::Relaxed);
        Poll::Ready(None)
    });
    let body = Body::from_stream(body.into_data_stream().chain(end));
    let expiry = Expiry {
        v2,
        received: Some(received),
    };
    ControlFlow::Continue((Request::from_parts(parts, body), expiry))
}

impl Expiry {
    /// The answer to a request still running after `limit`.
    pub fn answer(&self, limit: Duration) -> Response {
        let secs = limit.as_secs_f64();
        if self
            .received
            .as_ref()
            .is_some_and(|r| !r.load(Ordering::Relaxed))
        {
            refuse(
                self.v2,
                StatusCode::REQUEST_TIMEOUT,
                format!("The request body did not arrive within {secs} seconds."),
            )
        } else {
            refuse(
                self.v2,
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "The request could not be answered within {secs} seconds. Try again shortly; with an Idempotency-Key a retry cannot apply it twice."
                ),
            )
        }
    }
}

pin_project_lite::pin_project! {
    /// `work`, or `Err(())` once `until` has passed. Like `tokio::time::timeout`, but the
    /// timer is only armed when the work is still pending after its first poll: a request
    /// answered at once (a cached read) never touches the runtime's timer or its handle.
    pub struct Within<F> {
        #[pin]
        work: F,
        until: Instant,
        timer: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl<F> Within<F> {
    pub fn new(work: F, until: Instant) -> Self {
        Within {
            work,
            until,
            timer: None,
        }
    }
}

impl<F: Future> Future for Within<F> {
    type Output = Result<F::Output, ()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(out) = this.work.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        let until = *this.until;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until.into())));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(())),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        assert!(!json_depth_exceeds(br#"{"a":[{"b":1}]}"#, 3));
        assert!(json_depth_exceeds(br#"{"a":[{"b":[1]}]}"#, 3));
        assert!(!json_depth_exceeds(br#"{"a":"[[[[[[\"[[[["}"#, 1));
        assert!(json_depth_exceeds(&[b'['; 33], MAX_JSON_DEPTH));
        assert!(!json_depth_exceeds(&[b'['; 32], MAX_JSON_DEPTH));
    }

    /// Work slower than the deadline, its body already read: 503 in the API's shape.
    #[tokio::test]
    async fn slow_work_is_answered_503() {
        let req = Request::get("/stores/demo/v3/slow")
            .body(Body::empty())
            .expect("request");
        let ControlFlow::Continue((_, expiry)) = admit(req) else {
            panic!("small headers are admitted")
        };
        let limit = Duration::from_millis(50);
        let slow = tokio::time::sleep(Duration::from_secs(5));
        let res = match Within::new(slow, Instant::now() + limit).await {
            Ok(()) => panic!("the deadline passes first"),
            Err(()) => expiry.answer(limit),
        };
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(res.into_body(), 4096)
            .await
            .unwrap_or_default();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(body["status"], 503);
        assert!(
            body["title"]
                .as_str()
                .is_some_and(|t| t.contains("0.05 seconds")),
            "{body}"
        );
    }

    /// Work done at its first poll never arms the timer.
    #[tokio::test]
    async fn ready_work_needs_no_timer() {
        let until = Instant::now() + Duration::from_millis(50);
        let mut within = std::pin::pin!(Within::new(std::future::ready(7), until));
        let waker = std::task::Waker::noop();
        let polled = within.as_mut().poll(&mut Context::from_waker(waker));
        assert_eq!(polled, Poll::Ready(Ok(7)));
        assert!(within.timer.is_none());
    }
}
