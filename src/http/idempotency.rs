//! `Idempotency-Key` on every POST: a retry of the same request with the same key gets
//! the first answer again instead of doing the work twice.
//!
//! - the first request claims the key (one `INSERT`), runs, and its response is saved
//!   on the claim (one `UPDATE`): 2xx answers, and 4xx answers that judge the request
//!   itself (400, 404, 422 …);
//! - a retry of the same request replays that response byte for byte, with
//!   `Idempotent-Replayed: true`;
//! - the same key with a different request (method, path and query, credentials or
//!   body) is a 422; a retry while the first is still running is a 409 with
//!   `Retry-After`;
//! - answers that say nothing final about the request (401, 403, 409, 429, 5xx) are not
//!   saved: the claim is released so a retry runs again;
//! - a claim whose request died (a crash) counts as abandoned once it is older than
//!   [`ABANDONED_AFTER_SECS`], and the next retry runs again, learning from
//!   [`IdempotencyClaim::outcome`] what the dead attempt had already committed.
//!
//! The handler runs in its own task, so a client that hangs up, or the request timeout,
//! does not cut it off between its commit and the saving of its response.
//! Requests without the header (and all other methods) pass straight through.

use super::error::ApiError;
use super::v2::V2Error;
use super::{AppState, REQUEST_TIMEOUT};
use crate::service::Kassa;
use crate::store::idempotency::{ClaimClock, Claimed, SavedResponse};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tracing::Instrument;

pub use crate::store::IdempotencyClaim;

/// The request header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on a replayed response.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// How long a key is remembered.
pub const KEY_LIFETIME_SECS: i64 = 24 * 60 * 60;
/// An in-flight claim older than this belongs to a request that died: twice the
/// request timeout, so a request that is merely slow is never run twice.
pub const ABANDONED_AFTER_SECS: i64 = 2 * REQUEST_TIMEOUT.as_secs() as i64;
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// The response headers kept for a replay (the body's own headers, and what tells a
/// client where the result is or when to come back). `Set-Cookie` is not: a session
/// secret is never stored.
const SAVED_HEADERS: [HeaderName; 9] = [
    header::CONTENT_TYPE,
    header::CONTENT_LANGUAGE,
    header::LOCATION,
    header::RETRY_AFTER,
    HeaderName::from_static("x-retry-after"),
    header::ETAG,
    header::LAST_MODIFIED,
    header::CACHE_CONTROL,
    header::LINK,
];

/// Whether a request is one this layer handles: a POST with the header.
pub fn applies_to(req: &Request) -> bool {
    req.method() == Method::POST && req.headers().contains_key(IDEMPOTENCY_KEY)
}

/// The middleware, for requests it [`applies_to`]; `next` is the endpoint (run by
/// `super::stack::Endpoint`, so only requests that reach an endpoint can claim a key).
pub async fn idempotency<F, Fut>(state: AppState, req: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut + Send + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    if !applies_to(&req) {
        return next(req).await;
    }
    let v2 = req.uri().path().contains("/v2/");
    match run(state, req, next).await {
        Ok(res) => res,
        Err(e) if v2 => {
            // V2 clients read errors as a list.
            let retry_after = e.retry_after;
            let mut res = V2Error::new(e.status, e.title).into_response();
            if let Some(wait) = retry_after {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(wait.max(1)));
            }
            res
        }
        Err(e) => e.into_response(),
    }
}

async fn run<F, Fut>(state: AppState, req: Request, next: F) -> Result<Response, ApiError>
where
    F: FnOnce(Request) -> Fut + Send + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    let key = parse_key(req.headers())?;
    let scope = scope_of(&req);
    let (parts, body) = req.into_parts();
    // The body is read here to fingerprint it; the same limit as every endpoint applies.
    let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), &state)
        .await
        .map_err(super::limits::body_read_error)?;
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let print = fingerprint(parts.method.as_str(), path, &parts.headers, &bytes);

    let kassa = state.kassa.clone();
    let now = kassa.now();
    let clock = ClaimClock {
        now,
        abandoned_before: now - ABANDONED_AFTER_SECS,
        expired_before: now - KEY_LIFETIME_SECS,
    };
    let claimed = kassa
        .store
        .claim_idempotency_key(&scope, &key, &print, clock)
        .await
        .map_err(|e| ApiError::from(crate::service::ServiceError::from(e)))?;
    let (lock_token, outcome) = match claimed {
        Claimed::Started {
            lock_token,
            outcome,
        } => (lock_token, outcome),
        Claimed::Done(saved) => return Ok(replay(saved)),
        Claimed::InFlight => {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                "A request with this Idempotency-Key is still being processed. Retry after it finishes to receive its response.",
            );
            e.retry_after = Some(1);
            return Err(e);
        }
        Claimed::Mismatch => {
            let mut e = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "This Idempotency-Key was already used with a different request (method, path, credentials or body). Use a new key for a new request.",
            );
            e.errors.insert(
                "Idempotency-Key".into(),
                "The key is bound to the first request sent with it for 24 hours.".into(),
            );
            return Err(e);
        }
    };

    let claim = IdempotencyClaim {
        scope,
        key,
        outcome,
    };
    let mut parts = parts;
    parts.extensions.insert(claim.clone());
    let req = Request::from_parts(parts, Body::from(bytes));
    let worker_kassa = kassa.clone();
    let worker_claim = claim.clone();
    let worker_token = lock_token.clone();
    let task = tokio::spawn(
        async move {
            let res = next(req).await;
            finish(&worker_kassa, &worker_claim, &worker_token, res).await
        }
        .instrument(tracing::Span::current()),
    );
    match task.await {
        Ok(res) => Ok(res),
        Err(e) => {
            tracing::error!(error = %e, "request under an Idempotency-Key failed");
            release(&kassa, &claim, &lock_token).await;
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unexpected error occurred.",
            ))
        }
    }
}

/// Saves a replayable response on the claim, or releases the claim.
async fn finish(
    kassa: &Kassa,
    claim: &IdempotencyClaim,
    lock_token: &str,
    res: Response,
) -> Response {
    if !replayable(res.status()) {
        release(kassa, claim, lock_token).await;
        return res;
    }
    let (parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "response body could not be read for saving");
            release(kassa, claim, lock_token).await;
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unexpected error occurred.",
            )
            .into_response();
        }
    };
    let saved = SavedResponse {
        status: parts.status.as_u16(),
        headers: SAVED_HEADERS
            .iter()
            .flat_map(|name| {
                parts.headers.get_all(name).iter().filter_map(move |v| {
                    v.to_str()
                        .ok()
                        .map(|v| (name.as_str().to_string(), v.to_string()))
                })
            })
            .collect(),
        body: bytes.to_vec(),
    };
    match kassa
        .store
        .save_idempotent_response(&claim.scope, &claim.key, lock_token, &saved, kassa.now())
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            key = %claim.key,
            "idempotency claim was taken over before its response was saved"
        ),
        // The work is done and committed: answer with it. The claim stays in flight
        // until it counts as abandoned.
        Err(e) => tracing::error!(error = %e, "saving the response of an Idempotency-Key failed"),
    }
    Response::from_parts(parts, Body::from(bytes))
}

async fn release(kassa: &Kassa, claim: &IdempotencyClaim, lock_token: &str) {
    if let Err(e) = kassa
        .store
        .release_idempotency_key(&claim.scope, &claim.key, lock_token)
        .await
    {
        // Left locked, the claim is taken over once it counts as abandoned.
        tracing::warn!(error = %e, "releasing an Idempotency-Key failed");
    }
}

/// Deletes keys past their 24 hours, 500 at a time (run by the background sweeper).
/// Safe on many nodes at once. Expired keys still present are reused, not replayed.
pub async fn purge_expired_keys(kassa: &Kassa) {
    loop {
        match kassa
            .store
            .purge_idempotency_keys(kassa.now() - KEY_LIFETIME_SECS, 500)
            .await
        {
            Ok(500) => continue,
            Ok(n) => {
                if n > 0 {
                    tracing::info!(keys = n, "expired idempotency keys deleted");
                }
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, "expired idempotency key sweep failed; will retry");
                break;
            }
        }
    }
}

/// Whether a response is the final word on its request, to be replayed to retries.
pub fn replayable(status: StatusCode) -> bool {
    status.is_success()
        || (status.is_client_error()
            && !matches!(status.as_u16(), 401 | 403 | 408 | 409 | 423 | 425 | 429))
}

fn replay(saved: SavedResponse) -> Response {
    let mut res = Response::new(Body::from(saved.body));
    *res.status_mut() = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::OK);
    let headers = res.headers_mut();
    for (name, value) in &saved.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            headers.append(n, v);
        }
    }
    headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    res
}

/// The key: one header, 1–255 printable ASCII characters.
fn parse_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY).iter();
    let invalid = || {
        let mut e = ApiError::bad_request(
            "The Idempotency-Key header must be one value of 1 to 255 printable ASCII characters (a UUID is a good choice).",
        );
        e.errors.insert(
            "Idempotency-Key".into(),
            "Send a single key of 1 to 255 printable ASCII characters.".into(),
        );
        e
    };
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(invalid());
    };
    let bytes = value.as_bytes();
    if bytes.is_empty()
        || bytes.len() > MAX_KEY_LEN
        || !bytes.iter().all(|b| (0x20..=0x7e).contains(b))
        || bytes.iter().all(|b| *b == b' ')
    {
        return Err(invalid());
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// Which store a key belongs to: the `{store_hash}` of `/stores/{store_hash}/…`, else
/// the host the request was sent to (storefront paths).
fn scope_of(req: &Request) -> String {
    let mut segments = req.uri().path().split('/');
    if let (Some(""), Some("stores"), Some(hash)) =
        (segments.next(), segments.next(), segments.next())
        && !hash.is_empty()
    {
        return format!("store:{hash}");
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or_default();
    format!("host:{}", host.to_ascii_lowercase())
}

/// SHA-256 (hex) of everything that makes two requests the same request: method, path
/// and query, the credentials sent (so another caller can never be handed this
/// caller's saved response) and the body. Each part is length-prefixed.
pub fn fingerprint(method: &str, path_and_query: &str, headers: &HeaderMap, body: &[u8]) -> String {
    let mut h = Sha256::new();
    let mut part = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    part(method.as_bytes());
    part(path_and_query.as_bytes());
    for name in [
        HeaderName::from_static("x-auth-token"),
        header::AUTHORIZATION,
    ] {
        let value = headers
            .get(&name)
            .map(HeaderValue::as_bytes)
            .unwrap_or_default();
        part(value);
    }
    // A storefront shopper's credential is the session cookie: two shoppers reusing a
    // key never share an answer. (Added only when present, so other fingerprints stay.)
    if let Some(session) = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == crate::http::storefront::SESSION_COOKIE)
    {
        part(session.1.as_bytes());
    }
    part(body);
    hex::encode(h.finalize())
}

/// Documents the header on every POST operation of the spec.
pub fn document(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{RefOr, Required};
    let param = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes the POST safe to retry: a retry of the same request with the same key within 24 hours gets the first response again (with `Idempotent-Replayed: true`) instead of repeating the work. The same key with a different request is a 422; a retry while the first is still running is a 409 with `Retry-After`. 1–255 printable ASCII characters.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_KEY_LEN)),
        ))
        .build();
    for item in spec.paths.paths.values_mut() {
        if let Some(op) = item.post.as_mut() {
            op.parameters
                .get_or_insert_with(Vec::new)
                .push(RefOr::T(param.clone()));
        }
    }
}
