//! Queries for per-channel cart settings overrides, and the overrides kept in memory by
//! a server that owns its SQLite file (every cart write asks for its channel's; see
//! `written_rows` for why they stay exact).

use super::statement::stmt;
use super::{StoreResult, on_pool, read_on};
use crate::store::Store;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Beyond this many channels remembered the memory starts over (a few bytes each).
const MAX_CHANNELS: usize = 10_000;

#[derive(Default)]
struct Overrides {
    /// (store id, channel id) → the override, `None` when the channel has none.
    by_channel: HashMap<(i64, i64), Option<bool>>,
    /// Bumped each time they are forgotten: a fill read before then is not installed.
    generation: u64,
}

/// Channels' `allow_purchasing` overrides as last read.
#[derive(Default)]
pub struct ChannelOverrides {
    overrides: Mutex<Overrides>,
    /// Set once this process owns its SQLite file: only then is memory used.
    exact: AtomicBool,
    /// Overrides answered from memory, and read from the database.
    pub hits: AtomicU64,
    pub reads: AtomicU64,
}

impl std::fmt::Debug for ChannelOverrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChannelOverrides")
    }
}

impl ChannelOverrides {
    /// From now on overrides are remembered and served from memory.
    pub fn keep_exact(&self) {
        self.exact.store(true, Ordering::Release);
    }

    /// `Some(override)` when remembered; the generation to hand to `fill` otherwise.
    fn get(&self, store_id: i64, channel_id: i64) -> Result<Option<bool>, u64> {
        let overrides = self.lock();
        match overrides.by_channel.get(&(store_id, channel_id)) {
            Some(o) if self.exact.load(Ordering::Acquire) => Ok(*o),
            _ => Err(overrides.generation),
        }
    }

    /// Remembers what was read, unless the overrides were forgotten since `read_at`.
    fn fill(&self, store_id: i64, channel_id: i64, value: Option<bool>, read_at: u64) {
        if !self.exact.load(Ordering::Acquire) {
            return;
        }
        let mut overrides = self.lock();
        if overrides.generation != read_at {
            return;
        }
        if overrides.by_channel.len() >= MAX_CHANNELS {
            overrides.by_channel.clear();
        }
        overrides.by_channel.insert((store_id, channel_id), value);
    }

    /// The writer wrote overrides: none remembered is trusted any more.
    pub fn forget_all(&self) {
        let mut overrides = self.lock();
        overrides.generation += 1;
        overrides.by_channel.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Overrides> {
        self.overrides.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store {
    /// The channel's `allow_purchasing` override, or `None` when it has none.
    pub async fn channel_allow_purchasing(
        &self,
        store_id: i64,
        channel_id: i64,
    ) -> StoreResult<Option<bool>> {
        let memory = &self.channel_overrides;
        let read_at = match memory.get(store_id, channel_id) {
            Ok(known) => {
                memory.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(known);
            }
            Err(generation) => generation,
        };
        memory.reads.fetch_add(1, Ordering::Relaxed);
        let v: Option<Option<bool>> = read_on!(self, |c| {
            stmt(
                "SELECT allow_purchasing FROM channel_cart_settings WHERE store_id = $1 AND channel_id = $2",
            )
            .bind(store_id)
            .bind(channel_id)
            .fetch_optional_scalar(c)
            .await?
        })?;
        let v = v.flatten();
        memory.fill(store_id, channel_id, v, read_at);
        Ok(v)
    }

    /// Sets the channel's override, or removes it with `None`.
    pub async fn set_channel_allow_purchasing(
        &self,
        store_id: i64,
        channel_id: i64,
        allow: Option<bool>,
    ) -> StoreResult<()> {
        on_pool!(self, write, |p| {
            match allow {
                Some(a) => {
                    sqlx::query(
                        "INSERT INTO channel_cart_settings (store_id, channel_id, allow_purchasing) VALUES ($1, $2, $3)
                         ON CONFLICT (store_id, channel_id) DO UPDATE SET allow_purchasing = excluded.allow_purchasing",
                    )
                    .bind(store_id)
                    .bind(channel_id)
                    .bind(a)
                    .execute(p)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "DELETE FROM channel_cart_settings WHERE store_id = $1 AND channel_id = $2",
                    )
                    .bind(store_id)
                    .bind(channel_id)
                    .execute(p)
                    .await?;
                }
            }
        });
        Ok(())
    }
}
