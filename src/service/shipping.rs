//! Shipping configuration use cases: zones, their methods and pickup locations, kept as
//! per-store configuration documents (kinds `shipping_zone`, `shipping_method`,
//! `pickup_location`), and the whole configuration the checkout quotes from.
//!
//! # The demo shipping configuration
//!
//! [`Kassa::seed_demo_shipping`] gives a store with no shipping zones this configuration
//! (amounts USD, weights kg). In a fresh store the ids are:
//!
//! | zone | type / locations | free shipping | handling | methods |
//! |------|------------------|---------------|----------|---------|
//! | 1 "United States" | country: US (location 1) | from a 100.00 subtotal | 1.00 fixed, shown separately | 1 "Standard": 7.50 per order; 2 "Ground by weight": 0–1 kg 5.00, 1–5 kg 9.00, 5–20 kg 15.00 (nothing above 20 kg) |
//! | 2 "Rest of the world" | global | — | — | 3 "International flat rate": 25.00 per order |
//!
//! Pickup location 1: "Kassa Store", 1 Market St, San Francisco, CA 94105, US.
//! Methods tax shipping under the default tax class (0).

use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::shipping::{
    self, FreeShippingInput, HandlingFeesInput, MethodInput, MethodSettingsInput, PickupAddress,
    PickupLocation, RateRangeInput, ShippingConfig, ShippingMethod, ShippingZone, ZoneInput,
    ZoneLocationInput,
};
use crate::store::StoreRecord;
use rust_decimal::Decimal;

pub const ZONE_KIND: &str = "shipping_zone";
pub const METHOD_KIND: &str = "shipping_method";
pub const PICKUP_KIND: &str = "pickup_location";
/// Counter for zone location ids.
const LOCATION_COUNTER: &str = "shipping_zone_location";

fn zone_not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("Shipping zone {id} does not exist."))
}

fn method_not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("Shipping method {id} does not exist in this zone."))
}

fn pickup_not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("Pickup location {id} does not exist."))
}

impl Kassa {
    /// Everything the rate engine needs for one store: every zone, method and pickup
    /// location, each in id order.
    pub async fn shipping_config(&self, store_id: i64) -> ServiceResult<ShippingConfig> {
        Ok(ShippingConfig {
            zones: self.store.config_docs(store_id, ZONE_KIND).await?,
            methods: self.store.config_docs(store_id, METHOD_KIND).await?,
            pickup_locations: self.store.config_docs(store_id, PICKUP_KIND).await?,
        })
    }

    // ---------- zones ----------

    pub async fn list_shipping_zones(
        &self,
        store: &StoreRecord,
    ) -> ServiceResult<Vec<ShippingZone>> {
        Ok(self.store.config_docs(store.id, ZONE_KIND).await?)
    }

    pub async fn get_shipping_zone(
        &self,
        store: &StoreRecord,
        id: i64,
    ) -> ServiceResult<ShippingZone> {
        self.store
            .config_doc(store.id, ZONE_KIND, id)
            .await?
            .ok_or_else(|| zone_not_found(id))
    }

    pub async fn create_shipping_zone(
        &self,
        store: &StoreRecord,
        input: &ZoneInput,
    ) -> ServiceResult<ShippingZone> {
        // Check first, so a bad request burns no ids.
        shipping::build_zone(None, 0, input, 1)?;
        let id = self.store.next_ids(store.id, ZONE_KIND, 1).await?;
        let first_location = self.location_ids(store, input).await?;
        let zone = shipping::build_zone(None, id, input, first_location)?;
        self.store
            .put_config_doc(store.id, ZONE_KIND, id, &zone, self.now())
            .await?;
        Ok(zone)
    }

    /// Changes the fields sent; `locations`, when sent, replace the zone's locations.
    pub async fn update_shipping_zone(
        &self,
        store: &StoreRecord,
        id: i64,
        input: &ZoneInput,
    ) -> ServiceResult<ShippingZone> {
        let existing = self.get_shipping_zone(store, id).await?;
        shipping::build_zone(Some(&existing), id, input, 1)?;
        let first_location = self.location_ids(store, input).await?;
        let zone = shipping::build_zone(Some(&existing), id, input, first_location)?;
        self.store
            .put_config_doc(store.id, ZONE_KIND, id, &zone, self.now())
            .await?;
        Ok(zone)
    }

    async fn location_ids(&self, store: &StoreRecord, input: &ZoneInput) -> ServiceResult<i64> {
        let n = shipping::location_ids_needed(input);
        if n == 0 {
            return Ok(1);
        }
        Ok(self.store.next_ids(store.id, LOCATION_COUNTER, n).await?)
    }

    /// Deletes a zone and its methods.
    pub async fn delete_shipping_zone(&self, store: &StoreRecord, id: i64) -> ServiceResult<()> {
        if !self
            .store
            .delete_config_doc(store.id, ZONE_KIND, id)
            .await?
        {
            return Err(zone_not_found(id));
        }
        // The zone goes first: a method left behind by a failure here belongs to no
        // zone and is never quoted.
        let methods: Vec<ShippingMethod> = self.store.config_docs(store.id, METHOD_KIND).await?;
        for m in methods.iter().filter(|m| m.zone_id == id) {
            self.store
                .delete_config_doc(store.id, METHOD_KIND, m.id)
                .await?;
        }
        Ok(())
    }

    // ---------- methods ----------

    /// A zone's methods in id order (404 when the zone does not exist).
    pub async fn list_shipping_methods(
        &self,
        store: &StoreRecord,
        zone_id: i64,
    ) -> ServiceResult<Vec<ShippingMethod>> {
        self.get_shipping_zone(store, zone_id).await?;
        let methods: Vec<ShippingMethod> = self.store.config_docs(store.id, METHOD_KIND).await?;
        Ok(methods
            .into_iter()
            .filter(|m| m.zone_id == zone_id)
            .collect())
    }

    pub async fn get_shipping_method(
        &self,
        store: &StoreRecord,
        zone_id: i64,
        id: i64,
    ) -> ServiceResult<ShippingMethod> {
        self.get_shipping_zone(store, zone_id).await?;
        self.store
            .config_doc::<ShippingMethod>(store.id, METHOD_KIND, id)
            .await?
            .filter(|m| m.zone_id == zone_id)
            .ok_or_else(|| method_not_found(id))
    }

    pub async fn create_shipping_method(
        &self,
        store: &StoreRecord,
        zone_id: i64,
        input: &MethodInput,
    ) -> ServiceResult<ShippingMethod> {
        self.get_shipping_zone(store, zone_id).await?;
        shipping::build_method(None, 0, zone_id, input)?;
        let id = self.store.next_ids(store.id, METHOD_KIND, 1).await?;
        let method = shipping::build_method(None, id, zone_id, input)?;
        self.store
            .put_config_doc(store.id, METHOD_KIND, id, &method, self.now())
            .await?;
        Ok(method)
    }

    pub async fn update_shipping_method(
        &self,
        store: &StoreRecord,
        zone_id: i64,
        id: i64,
        input: &MethodInput,
    ) -> ServiceResult<ShippingMethod> {
        let existing = self.get_shipping_method(store, zone_id, id).await?;
        let method = shipping::build_method(Some(&existing), id, zone_id, input)?;
        self.store
            .put_config_doc(store.id, METHOD_KIND, id, &method, self.now())
            .await?;
        Ok(method)
    }

    pub async fn delete_shipping_method(
        &self,
        store: &StoreRecord,
        zone_id: i64,
        id: i64,
    ) -> ServiceResult<()> {
        self.get_shipping_method(store, zone_id, id).await?;
        if !self
            .store
            .delete_config_doc(store.id, METHOD_KIND, id)
            .await?
        {
            return Err(method_not_found(id));
        }
        Ok(())
    }

    // ---------- pickup locations ----------

    pub async fn list_pickup_locations(
        &self,
        store: &StoreRecord,
    ) -> ServiceResult<Vec<PickupLocation>> {
        Ok(self.store.config_docs(store.id, PICKUP_KIND).await?)
    }

    pub async fn get_pickup_location(
        &self,
        store: &StoreRecord,
        id: i64,
    ) -> ServiceResult<PickupLocation> {
        self.store
            .config_doc(store.id, PICKUP_KIND, id)
            .await?
            .ok_or_else(|| pickup_not_found(id))
    }

    /// Creates a pickup location; its `id` is assigned (the one given is ignored).
    pub async fn create_pickup_location(
        &self,
        store: &StoreRecord,
        location: PickupLocation,
    ) -> ServiceResult<PickupLocation> {
        let mut p = shipping::validate_pickup_location(location)?;
        p.id = self.store.next_ids(store.id, PICKUP_KIND, 1).await?;
        self.store
            .put_config_doc(store.id, PICKUP_KIND, p.id, &p, self.now())
            .await?;
        Ok(p)
    }

    /// Replaces the pickup location with `location.id`.
    pub async fn update_pickup_location(
        &self,
        store: &StoreRecord,
        location: PickupLocation,
    ) -> ServiceResult<PickupLocation> {
        self.get_pickup_location(store, location.id).await?;
        let p = shipping::validate_pickup_location(location)?;
        self.store
            .put_config_doc(store.id, PICKUP_KIND, p.id, &p, self.now())
            .await?;
        Ok(p)
    }

    pub async fn delete_pickup_location(&self, store: &StoreRecord, id: i64) -> ServiceResult<()> {
        if !self
            .store
            .delete_config_doc(store.id, PICKUP_KIND, id)
            .await?
        {
            return Err(pickup_not_found(id));
        }
        Ok(())
    }

    // ---------- demo ----------

    /// Installs the demo shipping configuration (see the module docs) unless the store
    /// already has shipping zones, so running it twice changes nothing.
    pub async fn seed_demo_shipping(&self, store: &StoreRecord) -> ServiceResult<()> {
        if !self.list_shipping_zones(store).await?.is_empty() {
            return Ok(());
        }
        let d = |s: &str| s.parse::<Decimal>().unwrap_or_default();
        let us = self
            .create_shipping_zone(
                store,
                &ZoneInput {
                    name: Some("United States".into()),
                    zone_type: Some("country".into()),
                    locations: Some(vec![ZoneLocationInput {
                        country_iso2: Some("US".into()),
                        ..Default::default()
                    }]),
                    enabled: Some(true),
                    handling_fees: Some(HandlingFeesInput {
                        fixed_surcharge: Some(d("1.00")),
                        percentage_surcharge: None,
                        display_separately: Some(true),
                    }),
                    free_shipping: Some(FreeShippingInput {
                        enabled: Some(true),
                        minimum_sub_total: Some(d("100.00")),
                        exclude_fixed_shipping_products: Some(false),
                    }),
                },
            )
            .await?;
        let world = self
            .create_shipping_zone(
                store,
                &ZoneInput {
                    name: Some("Rest of the world".into()),
                    zone_type: Some("global".into()),
                    enabled: Some(true),
                    ..Default::default()
                },
            )
            .await?;
        let flat = |name: &str, rate: &str| MethodInput {
            name: Some(name.into()),
            method_type: Some("perorder".into()),
            settings: Some(MethodSettingsInput {
                rate: Some(d(rate)),
                ..Default::default()
            }),
            enabled: Some(true),
            ..Default::default()
        };
        self.create_shipping_method(store, us.id, &flat("Standard", "7.50"))
            .await?;
        let range = |lower: &str, upper: &str, cost: &str| RateRangeInput {
            lower_limit: Some(d(lower)),
            upper_limit: Some(d(upper)),
            shipping_cost: Some(d(cost)),
        };
        self.create_shipping_method(
            store,
            us.id,
            &MethodInput {
                name: Some("Ground by weight".into()),
                method_type: Some("weight".into()),
                settings: Some(MethodSettingsInput {
                    default_cost_type: Some("fixed_amount".into()),
                    ranges: Some(vec![
                        range("0", "1", "5.00"),
                        range("1", "5", "9.00"),
                        range("5", "20", "15.00"),
                    ]),
                    ..Default::default()
                }),
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await?;
        self.create_shipping_method(store, world.id, &flat("International flat rate", "25.00"))
            .await?;
        self.create_pickup_location(
            store,
            PickupLocation {
                id: 0,
                name: "Kassa Store".into(),
                address: PickupAddress {
                    address1: "1 Market St".into(),
                    city: "San Francisco".into(),
                    state_or_province: "California".into(),
                    state_or_province_code: "CA".into(),
                    postal_code: "94105".into(),
                    country_code: "US".into(),
                    ..Default::default()
                },
                collection_instructions: "Collect at the front desk with your order number.".into(),
                collection_time_description: "Mon–Fri 9:00–17:00; ready within 2 hours.".into(),
                enabled: true,
            },
        )
        .await?;
        Ok(())
    }
}
