//! The one HTTP error type: every failure leaves as BigCommerce's v3 error body
//! `{status, title, type, errors?}` and never leaks internals.

use crate::domain::DomainError;
use crate::service::ServiceError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::collections::BTreeMap;

pub const ERROR_TYPE: &str =
    "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes";
pub const CONFLICT_TITLE: &str = "The request cannot be processed due to a possible conflict. Please review the changes and try again.";

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub title: String,
    pub errors: BTreeMap<String, String>,
    /// Seconds to wait before retrying (`Retry-After`, `X-Retry-After`), for 429s.
    pub retry_after: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub status: u16,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
}

impl ApiError {
    /// The title, then the field messages that say more than it: what a person reads.
    pub fn messages(&self) -> Vec<String> {
        let mut out = vec![self.title.clone()];
        out.extend(self.errors.values().filter(|m| **m != self.title).cloned());
        out
    }

    pub fn new(status: StatusCode, title: impl Into<String>) -> Self {
        ApiError {
            status,
            title: title.into(),
            errors: BTreeMap::new(),
            retry_after: None,
        }
    }

    pub fn bad_request(title: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, title)
    }

    pub fn unprocessable(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, message.clone());
        e.errors.insert(field.to_string(), message);
        e
    }

    pub fn not_found(title: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, title)
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            status: self.status.as_u16(),
            title: self.title.clone(),
            kind: ERROR_TYPE,
            errors: self.errors.clone(),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Unprocessable { title, errors } => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                title,
                errors: errors.into_iter().collect(),
                retry_after: None,
            },
            DomainError::NotFound(t) => ApiError::not_found(t),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Rule(d) | ServiceError::Refused(_, d) => d.into(),
            ServiceError::NotFound(t) => ApiError::not_found(t),
            ServiceError::Conflict => ApiError::new(StatusCode::CONFLICT, CONFLICT_TITLE),
            ServiceError::Duplicate(t) => ApiError::new(StatusCode::CONFLICT, t),
            ServiceError::Unauthorized => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Missing or unknown X-Auth-Token for this store.",
            ),
            ServiceError::Forbidden(scope) => ApiError::new(
                StatusCode::FORBIDDEN,
                format!("This API account lacks the `{scope}` scope this operation needs."),
            ),
            ServiceError::BadRequest(t) => ApiError::bad_request(t),
            ServiceError::RateLimited(t, wait) => ApiError {
                retry_after: Some(wait),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, t)
            },
            ServiceError::Gateway(t) => ApiError::new(StatusCode::BAD_GATEWAY, t),
            ServiceError::Store(err) if err.is_full() => {
                tracing::error!(error = %err, "database full: writes refused until it can grow");
                ApiError {
                    retry_after: Some(FULL_RETRY_AFTER_SECS),
                    ..ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "The store's database is full (no disk space left); nothing was written. Try again later.",
                    )
                }
            }
            ServiceError::Store(err) => {
                tracing::error!(error = %err, "storage failure");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The store's data could not be reached. Try again shortly.",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(wait) = self.retry_after {
            let v = HeaderValue::from(wait.max(1));
            res.headers_mut().insert(header::RETRY_AFTER, v.clone());
            res.headers_mut().insert("x-retry-after", v);
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Seconds a client should wait before retrying a write refused because the database is
/// full: freeing disk space takes an operator, not a moment.
pub const FULL_RETRY_AFTER_SECS: i64 = 30;

/// Seconds a client should wait before retrying a 503 that did not say otherwise.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u32 = 2;

/// Every 503 (database unreachable, request timeout, readiness) tells the client when
/// to come back, whichever API shape it was answered in.
pub fn retry_after_when_unavailable(mut res: Response) -> Response {
    if res.status() == StatusCode::SERVICE_UNAVAILABLE
        && !res.headers().contains_key(header::RETRY_AFTER)
    {
        res.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS),
        );
    }
    res
}

/// A 4xx that axum's own extractors (path, query, form) answered in plain text, as its
/// status and message; any other response is handed back untouched.
pub async fn plain_rejection(res: Response) -> Result<(StatusCode, String), Response> {
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !res.status().is_client_error() || !plain {
        return Err(res);
    }
    let status = res.status();
    let text = axum::body::to_bytes(res.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("The request was not accepted.")
            .to_string()
    } else {
        text
    };
    Ok((status, message))
}

/// Clients of a BigCommerce API expect its JSON error shape for every 4xx, so the
/// extractors' plain-text rejections are rewritten. Answers that chose their type (JSON,
/// the hosted pages' HTML) are left alone.
pub async fn plain_rejections_as_v3(res: Response) -> Response {
    match plain_rejection(res).await {
        Ok((status, title)) => ApiError::new(status, title).into_response(),
        Err(res) => res,
    }
}
