//! What this process keeps in memory of rows it does not own the writes of by code path:
//! products (`product_docs`) and channels' `allow_purchasing` overrides
//! (`cart_settings`), served without a read of the database by a server that owns its
//! SQLite file (same condition as `cart_cache`; on PostgreSQL other nodes write, and
//! every read goes to the database).
//!
//! Exact, whatever code path writes: catalog API, order placement's stock counts, cancels
//! and refunds, deletes (also by a store's `ON DELETE CASCADE`), settings endpoints.
//! Rules that keep it right:
//! - every write of this process goes through the one connection of the group-commit
//!   writer, and SQLite calls its update hook (installed on that connection whenever it
//!   is opened, see `Store::connect`) with the table and rowid of each row a statement
//!   inserts, updates or deletes. Both tables are rowid tables (`migrations/sqlite`), and
//!   no statement deletes all of `products` without a WHERE (the one case the hook does
//!   not see, SQLite's truncate optimization, which its foreign key rules out anyway);
//! - readers use other connections and see a batch's writes only once its COMMIT
//!   returned; right then, before any of its jobs hears back, the writer tells us
//!   ([`AfterBatch`]) and the entries of those rows go (after a ROLLBACK too: forgetting
//!   rows that did not change is harmless);
//! - a reader takes the memory's generation before it reads the database and fills an
//!   entry only if no rows were forgotten since, so what it read before a write
//!   committed cannot come back after that write's entries were dropped;
//! - products are dropped by rowid (order placement rewrites stock-counting products on
//!   every order); channel overrides are rarely written, so any write to their table
//!   drops them all, which also covers "no override" entries (no rowid to drop by);
//! - migrations and rowid-renumbering `VACUUM`s run before the server serves, when
//!   memory is empty, and the server runs no `VACUUM`.

use super::cart_settings::ChannelOverrides;
use super::group_commit::AfterBatch;
use super::product_docs::ProductDocs;
use std::sync::{Arc, Mutex};

/// Rows the writer's connection changed in the batch being written.
#[derive(Default)]
struct Pending {
    products: Vec<i64>,
    channel_overrides: bool,
}

pub struct WrittenRows {
    products: Arc<ProductDocs>,
    channels: Arc<ChannelOverrides>,
    pending: Mutex<Pending>,
}

impl WrittenRows {
    pub fn new(products: Arc<ProductDocs>, channels: Arc<ChannelOverrides>) -> WrittenRows {
        WrittenRows {
            products,
            channels,
            pending: Mutex::default(),
        }
    }

    /// The update hook of the writer's connection: a row of `table` was written.
    pub fn row_written(&self, table: &str, rowid: i64) {
        match table {
            "products" => self.lock().products.push(rowid),
            "channel_cart_settings" => self.lock().channel_overrides = true,
            _ => {}
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl AfterBatch for WrittenRows {
    fn batch_over(&self) {
        let pending = std::mem::take(&mut *self.lock());
        if !pending.products.is_empty() {
            self.products.forget_rows(&pending.products);
        }
        if pending.channel_overrides {
            self.channels.forget_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::cart::tests::product;
    use crate::domain::settings::StoreSettings;
    use crate::store::{Db, Store};

    /// A server's store on a fresh file, owning it, with one shop in it.
    async fn owned_store() -> (Store, i64, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!(
            "kassa-written-rows-{}.db",
            uuid::Uuid::new_v4().simple()
        ));
        let url = format!("sqlite://{}", path.display());
        let mut store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        assert!(store.keep_carts_in_memory(&url));
        let shop = store
            .create_store("shop", "Shop", &StoreSettings::default(), 1)
            .await
            .unwrap();
        (store, shop.id, path)
    }

    /// The product's price in cents, when it exists.
    async fn price_of(store: &Store, store_id: i64, id: i64) -> Option<i64> {
        let found = store.get_products(store_id, &[id]).await.unwrap();
        found.first().map(|p| p.price.to_e4() / 100)
    }

    #[tokio::test]
    async fn whatever_writes_a_product_the_next_read_sees_it() {
        let (store, shop, path) = owned_store().await;
        store
            .insert_product(shop, &product(7, 500, None))
            .await
            .unwrap();
        store
            .insert_product(shop, &product(8, 800, None))
            .await
            .unwrap();
        assert_eq!(price_of(&store, shop, 7).await, Some(500));
        let reads = store.memory_figures().products_from_database;
        // From memory now.
        assert_eq!(price_of(&store, shop, 7).await, Some(500));
        assert_eq!(store.memory_figures().products_from_database, reads);

        store
            .update_product(shop, &product(7, 600, None))
            .await
            .unwrap();
        assert_eq!(price_of(&store, shop, 7).await, Some(600));
        // A statement no store function knows of, straight on the writer.
        let Db::Sqlite { write, .. } = &store.db else {
            unreachable!()
        };
        sqlx::query("UPDATE products SET doc = $2 WHERE store_id = $1 AND id = 7")
            .bind(shop)
            .bind(serde_json::to_string(&product(7, 650, None)).unwrap())
            .execute(write)
            .await
            .unwrap();
        assert_eq!(price_of(&store, shop, 7).await, Some(650));
        // Product 8 was not written: still served from memory.
        assert_eq!(price_of(&store, shop, 8).await, Some(800));
        let reads = store.memory_figures().products_from_database;
        assert_eq!(price_of(&store, shop, 8).await, Some(800));
        assert_eq!(store.memory_figures().products_from_database, reads);

        assert!(store.delete_product(shop, 7).await.unwrap());
        assert_eq!(price_of(&store, shop, 7).await, None);
        // Rows a store's deletion removes by cascade are reported too.
        sqlx::query("DELETE FROM stores WHERE id = $1")
            .bind(shop)
            .execute(write)
            .await
            .unwrap();
        assert_eq!(price_of(&store, shop, 8).await, None);
        store.close().await;
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn a_channel_override_is_read_once_until_it_is_written() {
        let (store, shop, path) = owned_store().await;
        let read = async |channel| store.channel_allow_purchasing(shop, channel).await.unwrap();
        assert_eq!(read(1).await, None);
        assert_eq!(read(1).await, None);
        assert_eq!(store.memory_figures().overrides_from_database, 1);
        store
            .set_channel_allow_purchasing(shop, 1, Some(false))
            .await
            .unwrap();
        assert_eq!(read(1).await, Some(false));
        store
            .set_channel_allow_purchasing(shop, 1, Some(true))
            .await
            .unwrap();
        assert_eq!(read(1).await, Some(true));
        store
            .set_channel_allow_purchasing(shop, 1, None)
            .await
            .unwrap();
        assert_eq!(read(1).await, None);
        assert_eq!(read(1).await, None);
        let f = store.memory_figures();
        assert_eq!((f.overrides_from_database, f.overrides_from_memory), (4, 2));
        store.close().await;
        let _ = std::fs::remove_file(path);
    }
}
