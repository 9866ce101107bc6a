//! Extractors: the caller's identity, JSON bodies that fail in the API's own shape,
//! and `include=` lists.

use super::AppState;
use super::error::ApiError;
use super::limits::{MAX_JSON_DEPTH, json_depth_exceeds};
use crate::service::accounts::Principal;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// The API account behind `X-Auth-Token`, for the store named in the path.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Paths are `/stores/{store_hash}/…`.
        let store_hash = parts.uri.path().split('/').nth(2).unwrap_or_default();
        let token = parts
            .headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let principal = state.kassa.authenticate(store_hash, token.trim()).await?;
        Ok(Auth(principal))
    }
}

/// A JSON body. Malformed JSON, wrong types and missing fields become a 400/422
/// naming the field; an empty body reads as `{}` for endpoints that need none.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(super::limits::body_read_error)?;
        let slice: &[u8] = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            b"{}"
        } else {
            &bytes
        };
        parse_json(slice).map(JsonBody)
    }
}

/// Parses a request body into `T`; nesting beyond [`MAX_JSON_DEPTH`] is refused first.
pub fn parse_json<T: DeserializeOwned>(slice: &[u8]) -> Result<T, ApiError> {
    if json_depth_exceeds(slice, MAX_JSON_DEPTH) {
        let mut e = ApiError::bad_request(format!(
            "The request body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels."
        ));
        e.errors
            .insert("body".into(), format!("at most {MAX_JSON_DEPTH} levels"));
        return Err(e);
    }
    let de = &mut serde_json::Deserializer::from_slice(slice);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(format!(
                "The request body is not valid JSON (line {}, column {}).",
                inner.line(),
                inner.column()
            ))
        } else {
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            let msg = inner.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            let mut e = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("The field `{field}` is invalid: {msg}."),
            );
            e.errors.insert(field, msg);
            e
        }
    })
}

/// The values of `include=` (comma lists, repeated keys, `%2C`, stray `&` all accepted).
#[derive(Debug, Default, Clone)]
pub struct Includes(Vec<String>);

impl Includes {
    pub fn from_query(query: Option<&str>) -> Self {
        let mut out = Vec::new();
        for pair in query.unwrap_or_default().split('&') {
            let Some((k, v)) = pair.split_once('=') else {
                continue;
            };
            let k = percent_decode(k);
            if k == "include" || k == "include[]" {
                for part in percent_decode(v).split(',') {
                    let p = part.trim();
                    if !p.is_empty() {
                        out.push(p.to_string());
                    }
                }
            }
        }
        Includes(out)
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|i| i == name)
    }

    /// The same for every order and repetition of the same includes.
    pub fn key(&self) -> String {
        let mut names: Vec<&str> = self.0.iter().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        names.join(",")
    }
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_tolerate_real_client_quirks() {
        let i = Includes::from_query(Some(
            "include=redirect_urls%2Cline_items.physical_items.options&",
        ));
        assert!(i.has("redirect_urls"));
        assert!(i.has("line_items.physical_items.options"));
        assert!(!Includes::from_query(None).has("redirect_urls"));
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
