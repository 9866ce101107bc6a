//! The carts this server process wrote, kept in memory so that reading one back (every
//! checkout step reads its cart first, and `GET /checkouts/{id}` does nothing else)
//! costs a clone instead of a query and a JSON parse.
//!
//! As the carts themselves only for SQLite, and only while this process holds the
//! database file's lock ([`SqliteFileLock`]): then every write to a cart goes through
//! this process, so what it committed last is what the file holds. On PostgreSQL other
//! nodes write too, and every read goes to the database; there the same map holds
//! copies ([`CartCache::copy`]), used only when the database says the cart is still at
//! the copy's version (see `cart_reads`).
//!
//! Rules that keep it right:
//! - only writers fill it, after their COMMIT returned; a reader that misses reads the
//!   database and leaves the cache alone, so it never installs what it read before a
//!   concurrent write committed;
//! - a cart's entry only moves to a higher version; a deleted cart leaves a tombstone
//!   that no later put of an older version can overwrite (cart ids are never reused);
//! - an entry remembers its expiry, so an expired cart reads as gone, as in the database;
//! - a write whose outcome is unknown (its COMMIT failed) drops the entry.

use crate::domain::cart::Cart;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How many live carts stay in memory (a checkout's cart is a few KB to a few hundred KB).
const LIVE_CAPACITY: usize = 2_048;
/// How many tombstones are kept, and at least how long: a writer's put follows its own
/// COMMIT by microseconds, so a late put older than this cannot still be on its way.
const TOMBSTONE_CAPACITY: usize = 100_000;
const TOMBSTONE_MIN_AGE: Duration = Duration::from_secs(600);

enum Entry {
    Live {
        store_id: i64,
        version: i64,
        expires_at: i64,
        cart: Arc<Cart>,
        touched: Instant,
    },
    Gone {
        since: Instant,
    },
}

#[derive(Default)]
pub struct CartCache {
    entries: Mutex<Entries>,
}

/// The map, and how many of its entries are live carts, kept as they change so that a
/// write never scans the map to learn it.
#[derive(Default)]
struct Entries {
    map: HashMap<Uuid, Entry>,
    live: usize,
}

impl Entries {
    fn insert(&mut self, id: Uuid, entry: Entry) {
        let now_live = matches!(entry, Entry::Live { .. });
        let was_live = matches!(self.map.insert(id, entry), Some(Entry::Live { .. }));
        self.live = self.live + usize::from(now_live) - usize::from(was_live);
    }

    fn remove_live(&mut self, id: &Uuid) {
        if matches!(self.map.get(id), Some(Entry::Live { .. })) {
            self.map.remove(id);
            self.live -= 1;
        }
    }
}

impl std::fmt::Debug for CartCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CartCache")
    }
}

impl CartCache {
    /// `None` when the cart is not in memory (read the database); `Some(None)` when it
    /// was deleted or has expired; else the cart as last committed.
    pub fn get(&self, store_id: i64, id: Uuid, now: i64) -> Option<Option<Arc<Cart>>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.map.get_mut(&id) {
            None => None,
            Some(Entry::Gone { .. }) => Some(None),
            Some(Entry::Live {
                store_id: owner,
                expires_at,
                cart,
                touched,
                ..
            }) => {
                if *owner != store_id || *expires_at <= now {
                    Some(None)
                } else {
                    *touched = Instant::now();
                    Some(Some(cart.clone()))
                }
            }
        }
    }

    /// PostgreSQL, where the cache is a set of copies: the cart as this process last wrote
    /// or read it, expired or not, whatever the database holds now (see `cart_reads`).
    pub fn copy(&self, store_id: i64, id: Uuid) -> Option<Arc<Cart>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.map.get_mut(&id) {
            Some(Entry::Live {
                store_id: owner,
                cart,
                touched,
                ..
            }) if *owner == store_id => {
                *touched = Instant::now();
                Some(cart.clone())
            }
            _ => None,
        }
    }

    /// Records a committed insert or update.
    pub fn put(&self, store_id: i64, cart: &Cart) {
        self.put_with(store_id, cart, || Arc::new(cart.clone()));
    }

    /// Records a cart read from the database (PostgreSQL's copies only).
    pub(crate) fn put_shared(&self, store_id: i64, cart: Arc<Cart>) {
        self.put_with(store_id, &cart, || cart.clone());
    }

    fn put_with(&self, store_id: i64, cart: &Cart, shared: impl FnOnce() -> Arc<Cart>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.map.get(&cart.id) {
            Some(Entry::Gone { .. }) => return,
            Some(Entry::Live { version, .. }) if *version >= cart.version => return,
            _ => {}
        }
        entries.insert(
            cart.id,
            Entry::Live {
                store_id,
                version: cart.version,
                expires_at: cart.expires_at(),
                cart: shared(),
                touched: Instant::now(),
            },
        );
        evict(&mut entries);
    }

    /// Records a committed delete.
    pub fn gone(&self, id: Uuid) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(
            id,
            Entry::Gone {
                since: Instant::now(),
            },
        );
        evict(&mut entries);
    }

    /// Forgets a cart whose write may or may not have committed.
    pub fn forget(&self, id: Uuid) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove_live(&id);
    }
}

/// Keeps the map within its capacities: the least recently used live carts go first;
/// tombstones go only once they are old enough.
fn evict(entries: &mut Entries) {
    if entries.live > LIVE_CAPACITY {
        let mut by_use: Vec<(Instant, Uuid)> = entries
            .map
            .iter()
            .filter_map(|(id, e)| match e {
                Entry::Live { touched, .. } => Some((*touched, *id)),
                Entry::Gone { .. } => None,
            })
            .collect();
        by_use.sort_unstable();
        // Drop a quarter at once so the scan runs once per many puts, not on every one.
        let excess = entries.live - LIVE_CAPACITY * 3 / 4;
        for (_, id) in by_use.into_iter().take(excess) {
            entries.remove_live(&id);
        }
    }
    if entries.map.len() - entries.live > TOMBSTONE_CAPACITY {
        entries.map.retain(|_, e| match e {
            Entry::Gone { since } => since.elapsed() < TOMBSTONE_MIN_AGE,
            Entry::Live { .. } => true,
        });
    }
}

/// An exclusive lock on `<database file>.kassa-lock`, held for the life of a server
/// process: while it is held, no other Kassa server writes this SQLite file.
#[derive(Debug)]
pub struct SqliteFileLock {
    _file: std::fs::File,
}

impl SqliteFileLock {
    /// What claiming the database file of `url` gives.
    pub fn try_claim(url: &str) -> Claim {
        let Some(rest) = url.strip_prefix("sqlite:") else {
            return Claim::Taken;
        };
        let path = rest.trim_start_matches("//");
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() || path.contains(":memory:") || path.starts_with("file::memory") {
            return Claim::InMemory;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(format!("{path}.kassa-lock"));
        match file {
            Ok(file) if file.try_lock().is_ok() => Claim::Held(SqliteFileLock { _file: file }),
            _ => Claim::Taken,
        }
    }
}

pub enum Claim {
    /// This process now holds the file.
    Held(SqliteFileLock),
    /// No file: the database lives and dies with this process.
    InMemory,
    /// Another process holds the file (or the lock file cannot be made).
    Taken,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cart::Cart;

    fn cart(version: i64) -> Cart {
        use crate::domain::cart::{CustomItemSpec, NewCart};
        use crate::domain::money::{Currency, Money};
        use rust_decimal::Decimal;
        let new = NewCart {
            customer_id: 0,
            channel_id: 1,
            currency: Currency::new("USD", 2, Decimal::ONE),
            locale: "en".into(),
            tax_included: false,
            line_items: vec![],
            custom_items: vec![CustomItemSpec {
                sku: String::new(),
                name: "Gift wrap".into(),
                quantity: 1,
                list_price: Money::new(Decimal::new(495, 2)),
                image_url: String::new(),
            }],
            gift_certificates: vec![],
        };
        let mut c = Cart::create(
            Uuid::new_v4(),
            new,
            &Default::default(),
            1_000,
            Uuid::new_v4,
        )
        .unwrap_or_else(|e| panic!("a cart with one custom item: {e:?}"));
        c.version = version;
        c
    }

    #[test]
    fn versions_only_move_forward_and_tombstones_are_final() {
        let cache = CartCache::default();
        let c = cart(2);
        cache.put(1, &c);
        let mut older = c.clone();
        older.version = 1;
        cache.put(1, &older);
        match cache.get(1, c.id, 1_001) {
            Some(Some(got)) => assert_eq!(got.version, 2),
            _ => panic!("expected the cart at version 2"),
        }
        assert!(matches!(cache.get(2, c.id, 1_001), Some(None)));
        cache.gone(c.id);
        let mut newer = c.clone();
        newer.version = 3;
        cache.put(1, &newer);
        assert!(matches!(cache.get(1, c.id, 1_001), Some(None)));
        assert!(cache.get(1, Uuid::new_v4(), 1_001).is_none());
    }

    #[test]
    fn the_live_count_follows_puts_deletes_and_forgets() {
        let cache = CartCache::default();
        let (a, b, c) = (cart(1), cart(1), cart(1));
        for x in [&a, &b, &c] {
            cache.put(1, x);
        }
        let mut a2 = a.clone();
        a2.version = 2;
        cache.put(1, &a2);
        cache.gone(b.id);
        cache.forget(c.id);
        cache.forget(b.id);
        let entries = cache.entries.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!((entries.live, entries.map.len()), (1, 2));
    }

    #[test]
    fn an_expired_cart_reads_as_gone() {
        let cache = CartCache::default();
        let c = cart(1);
        cache.put(1, &c);
        assert!(matches!(cache.get(1, c.id, c.expires_at()), Some(None)));
    }
}
