//! Wire conventions shared by every v3 endpoint.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The v3 envelope `{"data": …, "meta": {}}`.
#[derive(Serialize, ToSchema)]
pub struct Envelope<T> {
    pub data: T,
    #[schema(value_type = Object)]
    pub meta: serde_json::Value,
}

impl<T> Envelope<T> {
    pub fn new(data: T) -> Self {
        Envelope {
            data,
            meta: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn with_meta(data: T, meta: serde_json::Value) -> Self {
        Envelope { data, meta }
    }
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        json_response(&self)
    }
}

/// Serializes to a JSON response; always `application/json`, whatever the client accepted.
pub fn json_response<T: Serialize>(v: &T) -> Response {
    match serde_json::to_vec(v) {
        Ok(body) => json_body_response(body.into()),
        Err(e) => {
            tracing::error!(error = %e, "response serialization failed");
            super::error::ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "The response could not be produced.",
            )
            .into_response()
        }
    }
}

/// A JSON body serialized before: `application/json`, like `json_response`.
pub fn json_body_response(body: axum::body::Bytes) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// Unix seconds as BigCommerce writes times: `2026-11-23T02:25:32+00:00`.
pub fn rfc3339(secs: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+00:00");
    t.format(&f).unwrap_or_default()
}

/// BigCommerce's offset pagination block for list responses.
pub fn pagination_meta(total: i64, count: usize, limit: i64, page: i64) -> serde_json::Value {
    let total_pages = if limit > 0 {
        (total + limit - 1) / limit
    } else {
        0
    };
    let mut links = serde_json::Map::new();
    if page > 1 {
        links.insert(
            "previous".into(),
            format!("?page={}&limit={limit}", page - 1).into(),
        );
    }
    links.insert(
        "current".into(),
        format!("?page={page}&limit={limit}").into(),
    );
    if page < total_pages {
        links.insert(
            "next".into(),
            format!("?page={}&limit={limit}", page + 1).into(),
        );
    }
    serde_json::json!({
        "pagination": {
            "total": total,
            "count": count,
            "per_page": limit,
            "current_page": page,
            "total_pages": total_pages,
            "links": links,
        }
    })
}
