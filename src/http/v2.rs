//! Wire conventions of BigCommerce's V2 API: bare JSON objects and arrays, money as
//! 4-decimal strings (`"54.0000"`), and errors as a list `[{"status": 400, "message": "…"}]`.
//!
//! V2 handlers take `Result<Auth, ApiError>` / `Result<JsonBody<T>, ApiError>` and pass
//! them through [`principal`] / [`body`], so failures in the shared extractors leave in
//! the V2 shape too.

use super::error::ApiError;
use super::extract::{Auth, JsonBody};
use super::wire::json_response;
use crate::domain::DomainError;
use crate::domain::money::Money;
use crate::domain::scope::Scope;
use crate::service::ServiceError;
use crate::service::accounts::Principal;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// One entry of a V2 error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct V2ErrorItem {
    pub status: u16,
    pub message: String,
}

/// A V2 failure: its status and a message that names the field at fault.
#[derive(Debug)]
pub struct V2Error {
    pub status: StatusCode,
    pub message: String,
}

pub type V2Result<T> = Result<T, V2Error>;

impl V2Error {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        V2Error {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

/// V3-shaped errors from shared code, reshaped. V2 reports invalid input as 400, where
/// V3 uses 422.
impl From<ApiError> for V2Error {
    fn from(e: ApiError) -> Self {
        let status = if e.status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            e.status
        };
        V2Error::new(status, e.title)
    }
}

impl From<ServiceError> for V2Error {
    fn from(e: ServiceError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<DomainError> for V2Error {
    fn from(e: DomainError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for V2Error {
    fn into_response(self) -> Response {
        let body = [V2ErrorItem {
            status: self.status.as_u16(),
            message: self.message,
        }];
        let mut res = json_response(&body);
        *res.status_mut() = self.status;
        res
    }
}

/// The caller, if authenticated and holding `scope`.
pub fn principal(auth: Result<Auth, ApiError>, scope: Scope) -> V2Result<Principal> {
    let Auth(who) = auth?;
    who.require(scope)?;
    Ok(who)
}

/// The parsed request body.
pub fn body<T>(b: Result<JsonBody<T>, ApiError>) -> V2Result<T> {
    Ok(b?.0)
}

/// A V2 response: a bare JSON value with the given status.
pub fn reply<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let mut res = json_response(value);
    if res.status().is_success() {
        *res.status_mut() = status;
    }
    res
}

/// Money as V2 writes it: `"54.0000"`.
pub fn money(m: Money) -> String {
    m.to_v2_string()
}

/// A path id; anything that is not a positive integer names nothing (404).
pub fn path_id(s: &str, what: &str) -> V2Result<i64> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| V2Error::not_found(format!("{what} {s} does not exist.")))
}
