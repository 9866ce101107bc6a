//! Checkout bodies as last rendered, by cart version. A checkout's JSON is a function of
//! the stored cart (its version moves on every write), the includes asked for and the
//! public URL; reads do no pricing, so a `GET` of an unchanged checkout can send the
//! bytes the previous answer built instead of building the same tree again.

use crate::domain::cart::Cart;
use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// Past either bound the whole map is dropped: simple, and rare (every live checkout
/// costs one entry, a few KB for a typical cart).
const MAX_ENTRIES: usize = 4_096;
const MAX_BYTES: usize = 64 * 1024 * 1024;

struct Rendered {
    version: i64,
    updated_time: i64,
    includes: String,
    body: Bytes,
}

#[derive(Default)]
pub struct RenderedCheckouts {
    inner: Mutex<(HashMap<Uuid, Rendered>, usize)>,
}

impl std::fmt::Debug for RenderedCheckouts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RenderedCheckouts")
    }
}

impl RenderedCheckouts {
    /// The body for `cart` with `includes` (a canonical key), rendering it on a miss.
    pub fn body(
        &self,
        cart: &Cart,
        includes: &str,
        render: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Option<Bytes> {
        {
            let guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(r) = guard.0.get(&cart.id)
                && r.version == cart.version
                && r.updated_time == cart.updated_time
                && r.includes == includes
            {
                return Some(r.body.clone());
            }
        }
        let body = Bytes::from(render()?);
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (map, bytes) = &mut *guard;
        // A concurrent request may have rendered a newer version meanwhile; keep the newer.
        if map.get(&cart.id).is_some_and(|r| r.version > cart.version) {
            return Some(body);
        }
        if map.len() >= MAX_ENTRIES || *bytes + body.len() > MAX_BYTES {
            map.clear();
            *bytes = 0;
        }
        *bytes += body.len();
        if let Some(old) = map.insert(
            cart.id,
            Rendered {
                version: cart.version,
                updated_time: cart.updated_time,
                includes: includes.to_string(),
                body: body.clone(),
            },
        ) {
            *bytes = bytes.saturating_sub(old.body.len());
        }
        Some(body)
    }
}
