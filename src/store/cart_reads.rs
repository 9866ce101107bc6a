//! PostgreSQL: whole-cart reads (`GET /checkouts/{id}`, `GET /carts/{id}`), many per
//! statement, without the documents this node already holds.
//!
//! Another node may have changed any cart, so every read asks the database. But the node
//! keeps a copy of each cart it last wrote or read ([`CartCache::copy`]), and the
//! statement returns a cart's document only when the copy is not at the cart's current
//! version: what comes back is a version check, not 6 KB to decompress, send and parse.
//!
//! Reads that wait at the same time share one statement. A read joins the queue; a task
//! takes everything queued and asks for it at once, while the next reads gather. A statement is
//! sent only after every read it answers arrived, so each read sees every write committed
//! before it, as a read of its own would.

use super::cart_cache::CartCache;
use super::hot_connections::HotConnections;
use super::{StoreError, StoreResult};
use crate::domain::cart::Cart;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use uuid::Uuid;

/// Statements in flight at once. While one is out, the next reads gather. With two, the
/// batches halved and PostgreSQL spent half as much again per read, for no more reads
/// per second (BENCHMARKS.md, 2026-11-25 07:30–08:10 UTC).
const RUNNERS: usize = 1;
/// Times a runner lets the node's ready tasks go first before it sends what is queued.
const GATHER_TURNS: usize = 3;
/// Most reads in one statement.
const MOST_PER_STATEMENT: usize = 256;
/// Refusals in a row after which changes from copies become rare, and how rare.
const REFUSALS_BEFORE_RARE: u64 = 8;
const RARE_TRY: u64 = 16;
/// Stores whose configuration version is remembered; beyond, the memory starts over.
const MOST_STORES_REMEMBERED: usize = 10_000;

/// For each read `n` (from 1): its cart's document, or NULL when the cart is at the
/// version the node holds (`held`, -1 for none). A cart that is gone, expired or of
/// another store has no row.
const READ_CARTS: &str = "SELECT k.n, CASE WHEN c.version = k.held THEN NULL ELSE c.doc END
     FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
              WITH ORDINALITY AS k(id, store_id, held, now, n)
     JOIN carts c ON c.id = k.id AND c.store_id = k.store_id AND c.expires_at > k.now";

pub(crate) struct CartReads {
    connections: Arc<HotConnections>,
    /// The carts this node last wrote or read, at their versions then.
    pub(crate) copies: CartCache,
    /// Each store's configuration version as the last cart read on this node found it:
    /// what a change made from a copy assumes, and its write checks.
    config_versions: Mutex<HashMap<i64, i64>>,
    copy_tries: CopyTries,
    queue: Mutex<Queue>,
    figures: CartReadFigures,
}

/// How PostgreSQL cart reads went, for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct CartReadFigures {
    /// Whole-cart reads, and the statements that answered them.
    pub reads: AtomicU64,
    pub statements: AtomicU64,
    /// Carts of any read (whole, or to change) taken from this node's copy, or parsed
    /// from the document the database sent.
    pub from_copy: AtomicU64,
    pub from_document: AtomicU64,
    /// Cart changes made from this node's copy and written in one statement, and those
    /// whose write found the copy (or the configuration or a product) out of date and
    /// read the cart instead.
    pub changes_from_copy: AtomicU64,
    pub changes_refused: AtomicU64,
}

impl std::fmt::Debug for CartReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CartReads")
    }
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    runners: usize,
}

#[derive(Clone, Copy)]
struct Key {
    store_id: i64,
    id: Uuid,
    now: i64,
    /// The version of this node's copy, -1 for none.
    held: i64,
}

struct Waiting {
    key: Key,
    /// `None` when the shared statement failed: the read then goes alone, to get its own
    /// error (or succeed).
    reply: oneshot::Sender<Option<Found>>,
}

enum Found {
    Gone,
    /// At the version of the node's copy.
    AsHeld,
    Changed(String),
}

impl CartReads {
    pub(crate) fn new(connections: Arc<HotConnections>) -> CartReads {
        CartReads {
            connections,
            copies: CartCache::default(),
            config_versions: Mutex::default(),
            copy_tries: CopyTries::default(),
            queue: Mutex::default(),
            figures: CartReadFigures::default(),
        }
    }

    /// The live cart as committed now, or `None` when it is gone or expired.
    pub(crate) async fn get(
        self: &Arc<Self>,
        store_id: i64,
        id: Uuid,
        now: i64,
    ) -> StoreResult<Option<Arc<Cart>>> {
        let held = self.copies.copy(store_id, id);
        let key = Key {
            store_id,
            id,
            now,
            held: held.as_ref().map_or(-1, |c| c.version),
        };
        let (reply, answer) = oneshot::channel();
        let start_runner = {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.waiting.push(Waiting { key, reply });
            let start = queue.runners < RUNNERS;
            queue.runners += usize::from(start);
            start
        };
        if start_runner {
            // A task of its own: a client that hangs up must not stop the reads of others.
            tokio::spawn(self.clone().run());
        }
        let found = match answer.await {
            Ok(Some(found)) => found,
            _ => {
                let mut alone = self.ask(&[key]).await?;
                alone.pop().unwrap_or(Found::Gone)
            }
        };
        match found {
            Found::Gone => Ok(None),
            Found::AsHeld => self.current(store_id, held, None).map(Some),
            Found::Changed(doc) => self.current(store_id, held, Some(doc)).map(Some),
        }
    }

    /// What a read found, given the `copy` it sent the version of: the copy when the
    /// database left the document out (the cart is still at that version), else the
    /// document, parsed and kept as the new copy.
    pub(crate) fn current(
        &self,
        store_id: i64,
        copy: Option<Arc<Cart>>,
        doc: Option<String>,
    ) -> StoreResult<Arc<Cart>> {
        match (doc, copy) {
            (None, Some(copy)) => {
                self.figures.from_copy.fetch_add(1, Ordering::Relaxed);
                Ok(copy)
            }
            (Some(doc), _) => {
                self.figures.from_document.fetch_add(1, Ordering::Relaxed);
                let cart = Arc::new(serde_json::from_str::<Cart>(&doc)?);
                self.copies.put_shared(store_id, cart.clone());
                Ok(cart)
            }
            (None, None) => Err(StoreError::Corrupt(serde::de::Error::custom(
                "a cart read left out a document this node does not hold",
            ))),
        }
    }

    /// Answers queued reads, a statement at a time, until none is left.
    async fn run(self: Arc<Self>) {
        let mut slot = RunnerSlot {
            reads: &self,
            released: false,
        };
        loop {
            // Reads whose requests are already in hand join this statement rather than the
            // next: the tasks ready to run go first, as long as they keep adding reads.
            let mut queued = self.queued();
            for _ in 0..GATHER_TURNS {
                tokio::task::yield_now().await;
                let now_queued = self.queued();
                if now_queued == queued {
                    break;
                }
                queued = now_queued;
            }
            let batch: Vec<Waiting> = {
                let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                if queue.waiting.is_empty() {
                    // Released under the lock that queued the last read, so a read that
                    // comes after this finds a free slot and starts a runner.
                    queue.runners -= 1;
                    slot.released = true;
                    return;
                }
                let n = queue.waiting.len().min(MOST_PER_STATEMENT);
                queue.waiting.drain(..n).collect()
            };
            let keys: Vec<Key> = batch.iter().map(|w| w.key).collect();
            match self.ask(&keys).await {
                Ok(found) => {
                    for (waiting, found) in batch.into_iter().zip(found) {
                        let _ = waiting.reply.send(Some(found));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, reads = keys.len(), "a shared cart read failed; each read retries alone");
                    for waiting in batch {
                        let _ = waiting.reply.send(None);
                    }
                }
            }
        }
    }

    fn queued(&self) -> usize {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .waiting
            .len()
    }

    /// One statement for these reads, answers in their order.
    async fn ask(&self, keys: &[Key]) -> StoreResult<Vec<Found>> {
        let rows: Vec<(i64, Option<String>)> = self
            .connections
            .with(async |c| {
                Ok(sqlx::query_as(READ_CARTS)
                    .bind(keys.iter().map(|k| k.id.to_string()).collect::<Vec<_>>())
                    .bind(keys.iter().map(|k| k.store_id).collect::<Vec<_>>())
                    .bind(keys.iter().map(|k| k.held).collect::<Vec<_>>())
                    .bind(keys.iter().map(|k| k.now).collect::<Vec<_>>())
                    .fetch_all(c)
                    .await?)
            })
            .await?;
        self.figures.statements.fetch_add(1, Ordering::Relaxed);
        self.figures
            .reads
            .fetch_add(keys.len() as u64, Ordering::Relaxed);
        let mut found: Vec<Found> = keys.iter().map(|_| Found::Gone).collect();
        for (n, doc) in rows {
            if let Some(slot) = usize::try_from(n - 1).ok().and_then(|i| found.get_mut(i)) {
                *slot = doc.map_or(Found::AsHeld, Found::Changed);
            }
        }
        Ok(found)
    }

    /// A cart read found the store's configuration at `version`.
    pub(crate) fn saw_config(&self, store_id: i64, version: i64) {
        let mut seen = self
            .config_versions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if seen.len() >= MOST_STORES_REMEMBERED && !seen.contains_key(&store_id) {
            seen.clear();
        }
        seen.insert(store_id, version);
    }

    /// The store's configuration version the last cart read on this node found.
    pub(crate) fn config_seen(&self, store_id: i64) -> Option<i64> {
        self.config_versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&store_id)
            .copied()
    }

    /// Whether to make this change from a copy (see [`CopyTries`]).
    pub(crate) fn try_copy(&self) -> bool {
        self.copy_tries.try_copy()
    }

    /// How a change from a copy went: written, or refused.
    pub(crate) fn copy_change_written(&self, written: bool) {
        let figure = if written {
            &self.figures.changes_from_copy
        } else {
            &self.figures.changes_refused
        };
        figure.fetch_add(1, Ordering::Relaxed);
        self.copy_tries.went(written);
    }

    pub(crate) fn figures(&self) -> &CartReadFigures {
        &self.figures
    }
}

/// Changes from copies refused since the last one written (at most
/// [`REFUSALS_BEFORE_RARE`]), and changes asked for. While copies keep being out of date
/// (each request to another node, as behind a load balancer without affinity), only one
/// change in [`RARE_TRY`] is made from a copy, so the others are not made twice; a change
/// written from a copy makes them all tried again.
#[derive(Default)]
struct CopyTries {
    refusals: AtomicU64,
    changes: AtomicU64,
}

impl CopyTries {
    fn try_copy(&self) -> bool {
        let n = self.changes.fetch_add(1, Ordering::Relaxed);
        self.refusals.load(Ordering::Relaxed) < REFUSALS_BEFORE_RARE || n.is_multiple_of(RARE_TRY)
    }

    fn went(&self, written: bool) {
        if written {
            self.refusals.store(0, Ordering::Relaxed);
        } else {
            let _ = self
                .refusals
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
                    Some((r + 1).min(REFUSALS_BEFORE_RARE))
                });
        }
    }
}

/// Gives a runner's slot back if its task ends without doing so (a panic), so later
/// reads still start runners.
struct RunnerSlot<'a> {
    reads: &'a CartReads,
    released: bool,
}

impl Drop for RunnerSlot<'_> {
    fn drop(&mut self) {
        if !self.released {
            let mut queue = self.reads.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.runners -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tried(t: &CopyTries, n: u64) -> u64 {
        (0..n).filter(|_| t.try_copy()).count() as u64
    }

    #[test]
    fn copies_are_tried_rarely_after_refusals_in_a_row_and_always_after_a_write() {
        let t = CopyTries::default();
        assert_eq!(tried(&t, 100), 100, "nothing refused yet");
        for _ in 0..REFUSALS_BEFORE_RARE - 1 {
            t.went(false);
        }
        assert_eq!(tried(&t, 100), 100, "one refusal short");
        t.went(false);
        assert_eq!(tried(&t, RARE_TRY * 10), 10, "one in RARE_TRY");
        t.went(true);
        assert_eq!(tried(&t, 100), 100, "a write resets");
    }
}
