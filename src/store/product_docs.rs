//! Products as parsed from their stored documents, kept by the document's text: a
//! cart change reads its products' documents (cheap, indexed) and reuses the parsed
//! product whenever the text is the one parsed before. Correct on every backend and
//! node, since the text read is always the database's own; only the parsing is saved.

use crate::domain::catalog::Product;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Beyond this many products the cache starts over (a few KB each).
const MAX_PRODUCTS: usize = 20_000;

/// (store id, product id) → the document's text and the product parsed from it.
type Parsed = HashMap<(i64, i64), (Box<str>, Arc<Product>)>;

#[derive(Debug, Default)]
pub struct ProductDocs {
    parsed: Mutex<Parsed>,
}

impl ProductDocs {
    /// The product `doc` describes: the one parsed before when the text is unchanged.
    pub fn product(
        &self,
        store_id: i64,
        id: i64,
        doc: &str,
    ) -> Result<Arc<Product>, serde_json::Error> {
        let key = (store_id, id);
        if let Some((text, p)) = self.lock().get(&key)
            && **text == *doc
        {
            return Ok(p.clone());
        }
        let product: Arc<Product> = Arc::new(serde_json::from_str(doc)?);
        let mut parsed = self.lock();
        if parsed.len() >= MAX_PRODUCTS {
            parsed.clear();
        }
        parsed.insert(key, (doc.into(), product.clone()));
        Ok(product)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Parsed> {
        self.parsed.lock().unwrap_or_else(|e| e.into_inner())
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
        let first = docs.product(1, 7, &doc(500)).unwrap();
        assert_eq!(*first, product(7, 500, None));
        let again = docs.product(1, 7, &doc(500)).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let changed = docs.product(1, 7, &doc(600)).unwrap();
        assert_eq!(*changed, product(7, 600, None));
        // Another store's product of the same id is its own.
        let other = docs.product(2, 7, &doc(500)).unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        assert!(docs.product(1, 8, "{").is_err());
    }
}
