//! The demo store: hash `demo`, a token with every scope, and a catalog that exercises
//! variants, modifiers, digital goods, low stock and sales. Running it twice changes nothing.

use super::{Kassa, ServiceResult};
use crate::domain::money::Currency;
use crate::domain::scope::Scopes;
use crate::domain::settings::StoreSettings;
use rust_decimal::Decimal;

pub const DEMO_STORE_HASH: &str = "demo";

/// What `--demo` did: the token is `Some` only when one was minted now.
pub struct DemoSetup {
    pub created_store: bool,
    pub token: Option<String>,
}

pub fn demo_settings() -> StoreSettings {
    StoreSettings {
        currencies: vec![
            Currency::new("USD", 2, Decimal::ONE),
            Currency::new("EUR", 2, Decimal::new(92, 2)),
            Currency::new("GBP", 2, Decimal::new(79, 2)),
            Currency::new("JPY", 0, Decimal::from(150)),
        ],
        // Browsers on the developer's machine reach the storefront as `localhost`.
        storefront_domain: Some("localhost".to_string()),
        ..StoreSettings::default()
    }
}

impl Kassa {
    /// Ensures the demo store exists with its catalog. A token given (`KASSA_DEMO_TOKEN`)
    /// is installed every time; otherwise one is generated when the store is first made.
    pub async fn ensure_demo_store(&self, token: Option<String>) -> ServiceResult<DemoSetup> {
        let (store, created) = match self.store.find_store(DEMO_STORE_HASH).await? {
            Some(s) => (s, false),
            None => (
                self.create_store(DEMO_STORE_HASH, "Kassa Demo Store", demo_settings())
                    .await?,
                true,
            ),
        };
        if created {
            self.seed_demo_catalog(&store).await?;
            self.seed_demo_shipping(&store).await?;
            self.seed_demo_tax(&store).await?;
            self.seed_demo_coupons(&store).await?;
            self.seed_demo_promotions(&store).await?;
            self.seed_demo_gift_certificates(&store).await?;
            self.seed_demo_customers(&store).await?;
        }
        let token = match token {
            Some(t) => {
                self.create_token(DEMO_STORE_HASH, "demo", &Scopes::every(), Some(t))
                    .await?;
                None
            }
            None if created => Some(
                self.create_token(DEMO_STORE_HASH, "demo", &Scopes::every(), None)
                    .await?,
            ),
            None => None,
        };
        Ok(DemoSetup {
            created_store: created,
            token,
        })
    }
}
