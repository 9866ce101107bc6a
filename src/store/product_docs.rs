//! Products as parsed from their stored documents, kept in memory two ways:
//!
//! - as the product itself, for a server that owns its SQLite file
//!   ([`ProductDocs::known`], filled by [`ProductDocs::fill`]): then no read goes to the
//!   database for a product already in memory. See `written_rows` for the rules that keep
//!   these entries exactly what the file holds.
//! - with the row version it was read at, on PostgreSQL ([`ProductDocs::product_at`],
//!   [`ProductDocs::at_version`]): a cart read returns each product's (id, version) only,
//!   and creating a cart sends the versions this node holds ([`ProductDocs::versions`]) and
//!   gets a document only where the row's version differs. So an unchanged product costs
//!   its id and version, not its document, on the wire and in the database; a document
//!   read again with the same text is not parsed again. The version is the row's `xmin`,
//!   which every update changes.

use crate::domain::catalog::Product;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Beyond this many products the cache starts over: a few KB each (text and parsed), so
/// at most some 10 MB, within the memory a node is sized for.
const MAX_PRODUCTS: usize = 2_000;

struct Parsed {
    text: Box<str>,
    product: Arc<Product>,
    /// The row it was read from, for entries the writer keeps exact (`fill`); None for
    /// those only reused by their text (`product`).
    rowid: Option<i64>,
    /// The PostgreSQL row version (`xmin`) it was read at, if read with one.
    version: Option<i64>,
}

#[derive(Default)]
struct Entries {
    /// (store id, product id) → the product.
    parsed: HashMap<(i64, i64), Parsed>,
    /// rowid → key, for the entries that have a rowid.
    by_rowid: HashMap<i64, (i64, i64)>,
    /// Bumped each time rows are forgotten: a fill read before then is not installed.
    generation: u64,
}

impl Entries {
    /// Keeps `by_rowid` naming exactly the entries that have a rowid.
    fn insert(&mut self, key: (i64, i64), entry: Parsed) {
        if self.parsed.len() >= MAX_PRODUCTS {
            self.parsed.clear();
            self.by_rowid.clear();
        }
        if let Some(old) = self.parsed.remove(&key)
            && let Some(rowid) = old.rowid
        {
            self.by_rowid.remove(&rowid);
        }
        if let Some(rowid) = entry.rowid
            && let Some(other) = self.by_rowid.insert(rowid, key)
            && other != key
        {
            self.parsed.remove(&other);
        }
        self.parsed.insert(key, entry);
    }
}

/// Counted facts for `/metrics`: reads of a set of products (a cart change's).
#[derive(Debug, Default)]
pub struct ProductFigures {
    /// Reads answered from memory alone, without a statement.
    pub hits: AtomicU64,
    /// Reads that ran a statement (some product not in memory, or memory not exact).
    pub reads: AtomicU64,
}

#[derive(Default)]
pub struct ProductDocs {
    entries: Mutex<Entries>,
    /// Set once this process owns its SQLite file: only then are `known` entries served.
    exact: AtomicBool,
    pub figures: ProductFigures,
}

impl std::fmt::Debug for ProductDocs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProductDocs")
    }
}

impl ProductDocs {
    /// The product `doc`, read at row version `version`, describes: the one parsed before
    /// when the text is unchanged.
    pub fn product_at(
        &self,
        store_id: i64,
        id: i64,
        version: i64,
        doc: &str,
    ) -> Result<Arc<Product>, serde_json::Error> {
        let key = (store_id, id);
        let product = self.parsed(key, doc)?;
        let mut entries = self.lock();
        // An entry the SQLite writer keeps exact stays as it is.
        if entries.parsed.get(&key).is_none_or(|p| p.rowid.is_none()) {
            let entry = Parsed {
                text: doc.into(),
                product: product.clone(),
                rowid: None,
                version: Some(version),
            };
            entries.insert(key, entry);
        }
        Ok(product)
    }

    /// The product held for row version `version`, if this node holds that version.
    pub fn at_version(&self, store_id: i64, id: i64, version: i64) -> Option<Arc<Product>> {
        let entries = self.lock();
        let p = entries.parsed.get(&(store_id, id))?;
        (p.version == Some(version)).then(|| p.product.clone())
    }

    /// The product held for `store_id` with the row version it was read at, whatever
    /// that version: what a change made without reading assumes, for its write to check.
    pub fn held(&self, store_id: i64, id: i64) -> Option<(i64, Arc<Product>)> {
        let entries = self.lock();
        let p = entries.parsed.get(&(store_id, id))?;
        Some((p.version?, p.product.clone()))
    }

    /// Up to `limit` (product id, row version) pairs held for `store_id`: those of `ids`
    /// or, with no ids, any of the store's. What a statement reading products needs no
    /// document for.
    pub fn versions(&self, store_id: i64, ids: &[i64], limit: usize) -> (Vec<i64>, Vec<i64>) {
        let entries = self.lock();
        let held: Box<dyn Iterator<Item = (i64, i64)> + '_> =
            if ids.is_empty() {
                Box::new(entries.parsed.iter().filter_map(|((s, id), p)| {
                    p.version.filter(|_| *s == store_id).map(|v| (*id, v))
                }))
            } else {
                Box::new(ids.iter().filter_map(|id| {
                    let p = entries.parsed.get(&(store_id, *id))?;
                    p.version.map(|v| (*id, v))
                }))
            };
        held.take(limit).unzip()
    }

    /// From now on, entries filled with their rowid are served without a read: this
    /// process owns the SQLite file and its writer forgets every row it changes.
    pub fn keep_exact(&self) {
        // What was filled before may predate writes of another process.
        let mut entries = self.lock();
        entries.parsed.clear();
        entries.by_rowid.clear();
        entries.generation += 1;
        self.exact.store(true, Ordering::Release);
    }

    pub fn is_exact(&self) -> bool {
        self.exact.load(Ordering::Acquire)
    }

    /// To read before reading products from the database, and to hand to `fill`.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// The product as the database holds it, when it is in memory and kept exact.
    pub fn known(&self, store_id: i64, id: i64) -> Option<Arc<Product>> {
        if !self.is_exact() {
            return None;
        }
        let entries = self.lock();
        let p = entries.parsed.get(&(store_id, id))?;
        p.rowid?;
        Some(p.product.clone())
    }

    /// The product read from row `rowid` as `doc`, remembered (for `known`) unless rows
    /// were forgotten since `read_at` (the `generation` taken before the read): then what
    /// was read may be older than a write that has committed since.
    pub fn fill(
        &self,
        store_id: i64,
        id: i64,
        rowid: i64,
        doc: &str,
        read_at: u64,
    ) -> Result<Arc<Product>, serde_json::Error> {
        let key = (store_id, id);
        let product = self.parsed(key, doc)?;
        let mut entries = self.lock();
        if entries.generation == read_at {
            let entry = Parsed {
                text: doc.into(),
                product: product.clone(),
                rowid: Some(rowid),
                version: None,
            };
            entries.insert(key, entry);
        }
        Ok(product)
    }

    /// Drops the entries read from these rows (the writer changed them), and makes
    /// every fill read before now a stale one.
    pub fn forget_rows(&self, rowids: &[i64]) {
        let mut entries = self.lock();
        entries.generation += 1;
        for rowid in rowids {
            if let Some(key) = entries.by_rowid.remove(rowid) {
                entries.parsed.remove(&key);
            }
        }
    }

    /// The product `doc` describes, parsed (outside the lock) unless the entry of `key`
    /// holds that very text.
    fn parsed(&self, key: (i64, i64), doc: &str) -> Result<Arc<Product>, serde_json::Error> {
        let reused = self
            .lock()
            .parsed
            .get(&key)
            .filter(|p| *p.text == *doc)
            .map(|p| p.product.clone());
        match reused {
            Some(p) => Ok(p),
            None => Ok(Arc::new(serde_json::from_str(doc)?)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cart::tests::product;

    fn doc(cents: i64) -> String {
        serde_json::to_string(&product(7, cents, None)).unwrap()
    }

    #[test]
    fn a_changed_document_is_parsed_again_and_an_unchanged_one_is_not() {
        let docs = ProductDocs::default();
        let first = docs.product_at(1, 7, 900, &doc(500)).unwrap();
        assert_eq!(*first, product(7, 500, None));
        // A new row version with the same text: the same product, not parsed again.
        let again = docs.product_at(1, 7, 901, &doc(500)).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let changed = docs.product_at(1, 7, 902, &doc(600)).unwrap();
        assert_eq!(*changed, product(7, 600, None));
        // Another store's product of the same id is its own.
        let other = docs.product_at(2, 7, 900, &doc(500)).unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        assert!(docs.product_at(1, 8, 903, "{").is_err());
        // Held by version only: never served as known without a read.
        docs.keep_exact();
        assert!(docs.known(1, 7).is_none());
    }

    #[test]
    fn a_product_read_at_a_version_is_held_for_that_version_only() {
        let docs = ProductDocs::default();
        let first = docs.product_at(1, 7, 900, &doc(500)).unwrap();
        assert!(Arc::ptr_eq(&docs.at_version(1, 7, 900).unwrap(), &first));
        assert!(docs.at_version(1, 7, 901).is_none());
        assert!(docs.at_version(2, 7, 900).is_none());
        docs.product_at(1, 8, 905, &doc(700)).unwrap();
        docs.product_at(2, 9, 906, &doc(700)).unwrap();
        // A newer version replaces the older one.
        let changed = docs.product_at(1, 7, 950, &doc(600)).unwrap();
        assert_eq!(*changed, product(7, 600, None));
        assert!(docs.at_version(1, 7, 900).is_none());

        let (mut ids, versions) = docs.versions(1, &[], 10);
        assert_eq!(ids.len(), versions.len());
        ids.sort_unstable();
        assert_eq!(ids, vec![7, 8]);
        assert_eq!(docs.versions(1, &[8, 3], 10), (vec![8], vec![905]));
        assert_eq!(docs.versions(1, &[], 1).0.len(), 1);
        assert_eq!(docs.versions(3, &[], 10), (vec![], vec![]));
    }

    #[test]
    fn a_filled_product_is_known_until_its_row_is_forgotten() {
        let docs = ProductDocs::default();
        let at = docs.generation();
        docs.fill(1, 7, 70, &doc(500), at).unwrap();
        // Not served before the process owns its file, nor filled before then.
        assert!(docs.known(1, 7).is_none());
        docs.keep_exact();
        assert!(docs.known(1, 7).is_none());
        let at = docs.generation();
        docs.fill(1, 7, 70, &doc(500), at).unwrap();
        assert_eq!(*docs.known(1, 7).unwrap(), product(7, 500, None));
        assert!(docs.known(2, 7).is_none());
        // Another row written: this one stays.
        docs.forget_rows(&[71]);
        assert!(docs.known(1, 7).is_some());
        docs.forget_rows(&[70]);
        assert!(docs.known(1, 7).is_none());
    }

    #[test]
    fn a_fill_read_before_a_write_committed_is_not_installed() {
        let docs = ProductDocs::default();
        docs.keep_exact();
        // A reader takes the generation, reads the row (500), and meanwhile the writer
        // commits a new price for it and forgets the row.
        let read_at = docs.generation();
        docs.forget_rows(&[70]);
        let stale = docs.fill(1, 7, 70, &doc(500), read_at).unwrap();
        // The reader gets what it read, but memory does not keep it.
        assert_eq!(*stale, product(7, 500, None));
        assert!(docs.known(1, 7).is_none());
        // A read after the write is kept.
        let read_at = docs.generation();
        docs.fill(1, 7, 70, &doc(600), read_at).unwrap();
        assert_eq!(*docs.known(1, 7).unwrap(), product(7, 600, None));
    }
}
