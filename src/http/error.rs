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

/// The API shape a path answers errors in, by the same test as the layers that shape
/// them (`limits::refuse`, `rate_limit::admit`, `storefront::guard`).
#[derive(Clone, Copy, PartialEq)]
enum ErrorShape {
    V3,
    V2,
    Storefront,
}

impl ErrorShape {
    fn of(path: &str) -> Self {
        if super::storefront::SHOPPER_PATH_PREFIXES
            .iter()
            .any(|p| path.starts_with(p))
        {
            ErrorShape::Storefront
        } else if path.contains("/v2/") {
            ErrorShape::V2
        } else {
            ErrorShape::V3
        }
    }

    fn content(self) -> utoipa::openapi::Content {
        utoipa::openapi::ContentBuilder::new()
            .schema(Some(self.schema()))
            .build()
    }

    fn schema(self) -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, Ref};
        match self {
            ErrorShape::V3 => Ref::from_schema_name("ErrorBody").into(),
            ErrorShape::V2 => ArrayBuilder::new()
                .items(Ref::from_schema_name("V2ErrorItem"))
                .build()
                .into(),
            ErrorShape::Storefront => Ref::from_schema_name("StorefrontErrorBody").into(),
        }
    }
}

/// Documents on every operation the error answers it can get from the layers and
/// extractors every request passes (auth, scopes, rate limits, size and time limits,
/// unreadable bodies and ids), in the error shape of its API, and puts error bodies
/// that handlers declared as [`ErrorBody`] into that shape (the storefront and V2
/// reshape every error on the way out).
pub fn document(spec: &mut utoipa::openapi::OpenApi) {
    use super::storefront::{StorefrontErrorBody, StorefrontErrorItem};
    use super::v2::V2ErrorItem;
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::schema::OneOfBuilder;
    use utoipa::openapi::{RefOr, ResponseBuilder};
    use utoipa::{PartialSchema, ToSchema};

    let components = spec.components.get_or_insert_with(Default::default);
    for (name, schema) in [
        (StorefrontErrorBody::name(), StorefrontErrorBody::schema()),
        (StorefrontErrorItem::name(), StorefrontErrorItem::schema()),
        (V2ErrorItem::name(), V2ErrorItem::schema()),
    ] {
        components.schemas.insert(name.into_owned(), schema);
    }

    for (path, item) in spec.paths.paths.iter_mut() {
        let shape = ErrorShape::of(path);
        let operations = [
            (false, item.get.as_mut()),
            (false, item.head.as_mut()),
            (true, item.post.as_mut()),
            (true, item.put.as_mut()),
            (true, item.patch.as_mut()),
            (true, item.delete.as_mut()),
        ];
        for (writes, op) in operations {
            let Some(op) = op else { continue };
            let params: Vec<_> = op
                .parameters
                .iter()
                .flatten()
                .filter_map(|p| match p {
                    RefOr::T(p) => Some(p),
                    RefOr::Ref(_) => None,
                })
                .collect();
            let has_ids = params
                .iter()
                .any(|p| p.parameter_in == ParameterIn::Path && p.name != "store_hash");
            let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
            let has_body = op.request_body.is_some();

            let idempotent = params
                .iter()
                .any(|p| p.parameter_in == ParameterIn::Header && p.name == "Idempotency-Key");

            let mut common: Vec<(u16, &str)> = vec![(
                431,
                "The request headers together are larger than this API accepts.",
            )];
            if shape == ErrorShape::Storefront {
                common.push((404, "No storefront is served at this address, or the shopper has no such cart, checkout or order."));
                if writes {
                    common.push((403, "The request came from an origin this storefront does not allow, or lacks the session's CSRF token (`X-XSRF-TOKEN`)."));
                }
            } else if path.starts_with("/stores/") {
                common.push((401, "Missing or unknown `X-Auth-Token` for this store."));
                common.push((403, "The API account lacks the scope this operation needs."));
                common.push((
                    429,
                    "The client is over its rate-limit quota; retry after `Retry-After` seconds.",
                ));
            }
            if has_ids {
                common.push((400, "An id in the path is not of the expected form."));
                common.push((404, "No such resource in this store."));
            }
            if has_query {
                common.push((422, "A query parameter is not of the expected form."));
            }
            if has_body {
                common.push((
                    400,
                    "The request body is not valid JSON, could not be read, or nests too deeply.",
                ));
                common.push((408, "The request body did not arrive in time."));
                common.push((413, "The request body is larger than this API accepts."));
                if shape != ErrorShape::V2 {
                    // V2 reports invalid fields as 400.
                    common.push((422, "A field of the request body is missing or invalid."));
                }
            }
            if idempotent {
                common.push((400, "The `Idempotency-Key` header is not one value of 1 to 255 printable ASCII characters."));
                common.push((409, "A request with this `Idempotency-Key` is still being processed; retry after `Retry-After` seconds."));
                common.push((
                    422,
                    "This `Idempotency-Key` was already used with a different request.",
                ));
            }

            let statuses: Vec<String> = common.iter().map(|(s, _)| s.to_string()).collect();
            for (status, response) in op.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                if !status.starts_with('4') {
                    continue;
                }
                for content in response.content.values_mut() {
                    let RefOr::T(content) = content else { continue };
                    match &content.schema {
                        Some(schema) if is_error_schema(schema) && shape != ErrorShape::V3 => {
                            *content = shape.content();
                        }
                        // A status the handler answers with its own body (a batch's
                        // per-item report) that the layers also answer with an error.
                        Some(schema) if !is_error_schema(schema) && statuses.contains(status) => {
                            let either = OneOfBuilder::new()
                                .item(schema.clone())
                                .item(shape.schema())
                                .build();
                            content.schema = Some(RefOr::T(utoipa::openapi::Schema::OneOf(either)));
                        }
                        _ => {}
                    }
                }
            }
            // One response per status, naming every cause of it.
            let mut causes: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
            for (status, cause) in common {
                causes.entry(status).or_default().push(cause);
            }
            for (status, causes) in causes {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(causes.join(" "))
                            .content("application/json", shape.content())
                            .build()
                            .into()
                    });
            }
        }
    }
}

/// Whether a response schema is one of the error bodies (V3, V2's list, storefront).
fn is_error_schema(schema: &utoipa::openapi::RefOr<utoipa::openapi::Schema>) -> bool {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{ArrayItems, Schema};
    let named = |r: &RefOr<Schema>, names: &[&str]| matches!(r, RefOr::Ref(r) if names.iter().any(|n| r.ref_location.ends_with(&format!("/{n}"))));
    match schema {
        RefOr::T(Schema::Array(a)) => {
            matches!(&a.items, ArrayItems::RefOrSchema(item) if named(item, &["V2ErrorItem"]))
        }
        r => named(r, &["ErrorBody", "StorefrontErrorBody"]),
    }
}
