//! Catalog use cases.

use super::{Kassa, ServiceResult};
use crate::store::StoreRecord;

impl Kassa {
    pub async fn seed_demo_catalog(&self, _store: &StoreRecord) -> ServiceResult<()> {
        Ok(())
    }
}
