//! Tax configuration use cases (tax classes, zones, rates, settings) and the store's
//! [`TaxConfig`] for the checkout.
//!
//! Everything is kept as configuration documents: kinds `tax_class`, `tax_zone`,
//! `tax_rate`, and `tax_settings` (one document, id 1). Ids come from the store's
//! counters of the same names; zone ids are the counter plus one, because zone 1 is the
//! built-in default zone (it exists without a document until it is first changed).
//! Class 0, "Default Tax Class", is built in and never stored.
//!
//! Batch writes check every item before writing any, then write one document per item
//! (each write bumps the store's configuration version).
//!
//! Scopes: `store_v2_information` to change, `store_v2_information_read_only` to read, as
//! the zone, rate and settings specs say. The class spec names a `Manage_Tax` permission
//! Kassa's tokens do not have; classes use the same scopes.
//!
//! `tax_entered_with_prices` is the store setting `prices_include_tax` under another name:
//! reading the tax settings reports the store setting, and writing it changes the store
//! setting (and the copy in the tax settings document, so [`Kassa::tax_config`] carries it).
//!
//! # The demo store's tax ([`Kassa::seed_demo_tax`])
//!
//! | kind | id | what |
//! |------|----|------|
//! | class | 0 | Default Tax Class (built in) |
//! | class | 1 | Non-Taxable Products (0% everywhere) |
//! | class | 2 | Shipping (the settings' `shipping_tax_class_id`) |
//! | class | 3 | Gift Wrapping (the settings' `gift_wrapping_tax_class_id`) |
//! | zone | 1 | Default Tax Zone (built in, no rates: shoppers elsewhere pay no tax) |
//! | zone | 2 | California: US / CA |
//! | zone | 3 | New York: US / NY |
//! | zone | 4 | EU VAT: AT, BE, DE, ES, FR, IE, IT, NL; prices shown inclusive |
//! | rate | 1 | CA Sales Tax, zone 2: 7.25% on classes 0, 2, 3; 0% on class 1 |
//! | rate | 2 | NY Sales Tax, zone 3: 8.875% on classes 0, 2, 3; 0% on class 1 |
//! | rate | 3 | VAT, zone 4: 20% on classes 0, 2, 3; 0% on class 1 |
//!
//! The demo catalog's prices are entered without tax (in USD). The EU zone's
//! `show_inclusive` only tells a storefront to *show* prices with VAT added (a 10.00 item
//! shows as 12.00); the checkout still adds 20% on top of the entered price, exactly as
//! for the US zones. Settings: per-line rounding (`RATE_ROUNDING`), tax by shipping address.

use super::accounts::Principal;
use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::scope::Scope;
use crate::domain::tax::{
    ClassRate, DEFAULT_TAX_CLASS_ID, DEFAULT_TAX_ZONE_ID, ShopperTargetInput,
    ShopperTargetSettings, TaxClass, TaxConfig, TaxRate, TaxRateInput, TaxSettings,
    TaxSettingsInput, TaxZone, TaxZoneInput, ZoneLocation, ZonePriceDisplay, ZonePriceDisplayInput,
    check_class_name,
};
use crate::store::StoreRecord;
use rust_decimal::Decimal;

const ZONE: &str = "tax_zone";
const RATE: &str = "tax_rate";
const CLASS: &str = "tax_class";
const SETTINGS: &str = "tax_settings";
const SETTINGS_ID: i64 = 1;

/// A page of rates and how many matched.
pub struct RatePage {
    pub rates: Vec<TaxRate>,
    pub total: i64,
}

/// Which rates to list.
#[derive(Clone, Debug, Default)]
pub struct RateQuery {
    pub ids: Option<Vec<i64>>,
    pub zone_ids: Option<Vec<i64>>,
    pub page: i64,
    pub limit: i64,
}

/// A class change can also clash with another class's name (409, naming the field).
#[derive(Debug, thiserror::Error)]
pub enum TaxClassError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("{message}")]
    Duplicate { field: String, message: String },
}

impl From<DomainError> for TaxClassError {
    fn from(e: DomainError) -> Self {
        TaxClassError::Service(e.into())
    }
}

impl From<crate::store::StoreError> for TaxClassError {
    fn from(e: crate::store::StoreError) -> Self {
        TaxClassError::Service(e.into())
    }
}

pub type TaxClassResult<T> = Result<T, TaxClassError>;

fn required(field: String, what: &str) -> ServiceError {
    DomainError::field(field, format!("`{what}` is required.")).into()
}

fn duplicate_in_batch(field: String, id: i64) -> ServiceError {
    DomainError::field(
        field,
        format!("Id {id} appears more than once in the request."),
    )
    .into()
}

impl Kassa {
    // ---------- loading ----------

    async fn zones_of(&self, store_id: i64) -> ServiceResult<Vec<TaxZone>> {
        let mut zones: Vec<TaxZone> = self.store.config_docs(store_id, ZONE).await?;
        if !zones.iter().any(|z| z.id == DEFAULT_TAX_ZONE_ID) {
            zones.insert(0, TaxZone::default_zone());
        }
        zones.sort_by_key(|z| z.id);
        Ok(zones)
    }

    async fn rates_of(&self, store_id: i64) -> ServiceResult<Vec<TaxRate>> {
        Ok(self.store.config_docs(store_id, RATE).await?)
    }

    /// The classes created through the API (not the built-in class 0).
    async fn classes_of(&self, store_id: i64) -> ServiceResult<Vec<TaxClass>> {
        Ok(self.store.config_docs(store_id, CLASS).await?)
    }

    async fn settings_of(&self, store_id: i64) -> ServiceResult<TaxSettings> {
        Ok(self
            .store
            .config_doc(store_id, SETTINGS, SETTINGS_ID)
            .await?
            .unwrap_or_default())
    }

    /// Everything the tax engine needs for a store: settings, zones (with the default
    /// zone), rates, and classes (with class 0 first).
    pub async fn tax_config(&self, store_id: i64) -> ServiceResult<TaxConfig> {
        let mut classes = vec![TaxClass::default_class()];
        classes.extend(self.classes_of(store_id).await?);
        Ok(TaxConfig {
            settings: self.settings_of(store_id).await?,
            zones: self.zones_of(store_id).await?,
            rates: self.rates_of(store_id).await?,
            classes,
        })
    }

    // ---------- zones ----------

    /// All zones, or those with the given ids.
    pub async fn tax_zones(
        &self,
        who: &Principal,
        ids: Option<&[i64]>,
    ) -> ServiceResult<Vec<TaxZone>> {
        who.require(Scope::V2InformationReadOnly)?;
        let zones = self.zones_of(who.store.id).await?;
        Ok(match ids {
            Some(ids) => zones.into_iter().filter(|z| ids.contains(&z.id)).collect(),
            None => zones,
        })
    }

    pub async fn create_tax_zones(
        &self,
        who: &Principal,
        inputs: Vec<TaxZoneInput>,
    ) -> ServiceResult<Vec<TaxZone>> {
        who.require(Scope::V2Information)?;
        self.create_zones_in(who.store.id, inputs).await
    }

    async fn create_zones_in(
        &self,
        store_id: i64,
        inputs: Vec<TaxZoneInput>,
    ) -> ServiceResult<Vec<TaxZone>> {
        let mut zones = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.into_iter().enumerate() {
            let f = format!("[{i}]");
            if input.name.is_none() {
                return Err(required(format!("{f}.name"), "name"));
            }
            let mut z = TaxZone {
                id: 0,
                name: String::new(),
                enabled: true,
                price_display_settings: ZonePriceDisplay::default(),
                shopper_target_settings: ShopperTargetSettings::default(),
            };
            input.apply(&mut z, &f)?;
            zones.push(z);
        }
        if zones.is_empty() {
            return Ok(zones);
        }
        // Zone 1 is the default zone, so ids start at 2.
        let first = self
            .store
            .next_ids(store_id, ZONE, zones.len() as i64)
            .await?
            + 1;
        let now = self.now();
        for (i, z) in zones.iter_mut().enumerate() {
            z.id = first + i as i64;
            self.store
                .put_config_doc(store_id, ZONE, z.id, z, now)
                .await?;
        }
        Ok(zones)
    }

    /// Changes zones; fields left out stay as they are.
    pub async fn update_tax_zones(
        &self,
        who: &Principal,
        changes: Vec<(i64, TaxZoneInput)>,
    ) -> ServiceResult<Vec<TaxZone>> {
        who.require(Scope::V2Information)?;
        let store_id = who.store.id;
        let zones = self.zones_of(store_id).await?;
        let mut out: Vec<TaxZone> = Vec::with_capacity(changes.len());
        for (i, (id, input)) in changes.into_iter().enumerate() {
            let f = format!("[{i}]");
            if out.iter().any(|z| z.id == id) {
                return Err(duplicate_in_batch(format!("{f}.id"), id));
            }
            let mut z =
                zones.iter().find(|z| z.id == id).cloned().ok_or_else(|| {
                    ServiceError::NotFound(format!("Tax zone {id} does not exist."))
                })?;
            input.apply(&mut z, &f)?;
            out.push(z);
        }
        let now = self.now();
        for z in &out {
            self.store
                .put_config_doc(store_id, ZONE, z.id, z, now)
                .await?;
        }
        Ok(out)
    }

    /// Deletes zones and their rates. Ids that do not exist are ignored; the default zone
    /// cannot be deleted. Settings that named a deleted zone fall back to the default zone.
    pub async fn delete_tax_zones(&self, who: &Principal, ids: &[i64]) -> ServiceResult<()> {
        who.require(Scope::V2Information)?;
        if ids.contains(&DEFAULT_TAX_ZONE_ID) {
            return Err(DomainError::field(
                "id:in",
                "The default tax zone (id 1) cannot be deleted.",
            )
            .into());
        }
        let store_id = who.store.id;
        for r in self.rates_of(store_id).await? {
            if ids.contains(&r.tax_zone_id) {
                self.store.delete_config_doc(store_id, RATE, r.id).await?;
            }
        }
        for id in ids {
            self.store.delete_config_doc(store_id, ZONE, *id).await?;
        }
        let mut s = self.settings_of(store_id).await?;
        let before = s.clone();
        if ids.contains(&s.guest_shopper_tax_zone_id) {
            s.guest_shopper_tax_zone_id = DEFAULT_TAX_ZONE_ID;
        }
        if ids.contains(&s.store_tax_zone_id) {
            s.store_tax_zone_id = DEFAULT_TAX_ZONE_ID;
        }
        if s != before {
            self.store
                .put_config_doc(store_id, SETTINGS, SETTINGS_ID, &s, self.now())
                .await?;
        }
        Ok(())
    }

    // ---------- rates ----------

    pub async fn tax_rates(&self, who: &Principal, q: &RateQuery) -> ServiceResult<RatePage> {
        who.require(Scope::V2InformationReadOnly)?;
        let matching: Vec<TaxRate> = self
            .rates_of(who.store.id)
            .await?
            .into_iter()
            .filter(|r| q.ids.as_ref().is_none_or(|ids| ids.contains(&r.id)))
            .filter(|r| {
                q.zone_ids
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&r.tax_zone_id))
            })
            .collect();
        let total = matching.len() as i64;
        let limit = q.limit.max(1);
        let skip = (q.page.max(1) - 1).saturating_mul(limit);
        let rates = matching
            .into_iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect();
        Ok(RatePage { rates, total })
    }

    pub async fn create_tax_rates(
        &self,
        who: &Principal,
        inputs: Vec<TaxRateInput>,
    ) -> ServiceResult<Vec<TaxRate>> {
        who.require(Scope::V2Information)?;
        self.create_rates_in(who.store.id, inputs).await
    }

    async fn create_rates_in(
        &self,
        store_id: i64,
        inputs: Vec<TaxRateInput>,
    ) -> ServiceResult<Vec<TaxRate>> {
        let zones = self.zones_of(store_id).await?;
        let classes = self.classes_of(store_id).await?;
        let mut rates = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.into_iter().enumerate() {
            let f = format!("[{i}]");
            for (missing, name) in [
                (input.name.is_none(), "name"),
                (input.tax_zone_id.is_none(), "tax_zone_id"),
                (input.class_rates.is_none(), "class_rates"),
            ] {
                if missing {
                    return Err(required(format!("{f}.{name}"), name));
                }
            }
            let mut r = TaxRate {
                id: 0,
                name: String::new(),
                enabled: true,
                priority: 1,
                class_rates: Vec::new(),
                tax_zone_id: 0,
            };
            input.apply(&mut r, &zones, &classes, &f)?;
            rates.push(r);
        }
        if rates.is_empty() {
            return Ok(rates);
        }
        let first = self
            .store
            .next_ids(store_id, RATE, rates.len() as i64)
            .await?;
        let now = self.now();
        for (i, r) in rates.iter_mut().enumerate() {
            r.id = first + i as i64;
            self.store
                .put_config_doc(store_id, RATE, r.id, r, now)
                .await?;
        }
        Ok(rates)
    }

    pub async fn update_tax_rates(
        &self,
        who: &Principal,
        changes: Vec<(i64, TaxRateInput)>,
    ) -> ServiceResult<Vec<TaxRate>> {
        who.require(Scope::V2Information)?;
        let store_id = who.store.id;
        let zones = self.zones_of(store_id).await?;
        let classes = self.classes_of(store_id).await?;
        let rates = self.rates_of(store_id).await?;
        let mut out: Vec<TaxRate> = Vec::with_capacity(changes.len());
        for (i, (id, input)) in changes.into_iter().enumerate() {
            let f = format!("[{i}]");
            if out.iter().any(|r| r.id == id) {
                return Err(duplicate_in_batch(format!("{f}.id"), id));
            }
            let mut r =
                rates.iter().find(|r| r.id == id).cloned().ok_or_else(|| {
                    ServiceError::NotFound(format!("Tax rate {id} does not exist."))
                })?;
            input.apply(&mut r, &zones, &classes, &f)?;
            out.push(r);
        }
        let now = self.now();
        for r in &out {
            self.store
                .put_config_doc(store_id, RATE, r.id, r, now)
                .await?;
        }
        Ok(out)
    }

    /// Deletes rates; ids that do not exist are ignored.
    pub async fn delete_tax_rates(&self, who: &Principal, ids: &[i64]) -> ServiceResult<()> {
        who.require(Scope::V2Information)?;
        for id in ids {
            self.store
                .delete_config_doc(who.store.id, RATE, *id)
                .await?;
        }
        Ok(())
    }

    // ---------- classes ----------

    /// The store's classes, without the built-in class 0.
    pub async fn tax_classes(&self, who: &Principal) -> ServiceResult<Vec<TaxClass>> {
        who.require(Scope::V2InformationReadOnly)?;
        self.classes_of(who.store.id).await
    }

    /// Creates classes; a name another class has (ignoring case) is a 409, a name twice
    /// in the request a 422.
    pub async fn create_tax_classes(
        &self,
        who: &Principal,
        names: Vec<String>,
    ) -> TaxClassResult<Vec<TaxClass>> {
        who.require(Scope::V2Information)?;
        self.create_classes_in(who.store.id, names).await
    }

    async fn create_classes_in(
        &self,
        store_id: i64,
        names: Vec<String>,
    ) -> TaxClassResult<Vec<TaxClass>> {
        let existing = self.classes_of(store_id).await?;
        let mut checked: Vec<String> = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let f = format!("[{i}].name");
            let name = check_class_name(name, &f)?;
            if checked.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                return Err(DomainError::field(
                    f,
                    format!("The name `{name}` appears more than once in the request."),
                )
                .into());
            }
            check_class_name_free(&existing, &name, None, &f)?;
            checked.push(name);
        }
        if checked.is_empty() {
            return Ok(Vec::new());
        }
        let first = self
            .store
            .next_ids(store_id, CLASS, checked.len() as i64)
            .await?;
        let now = self.now();
        let mut out = Vec::with_capacity(checked.len());
        for (i, name) in checked.into_iter().enumerate() {
            let c = TaxClass {
                id: first + i as i64,
                name,
                created_at: now,
                updated_at: now,
            };
            self.store
                .put_config_doc(store_id, CLASS, c.id, &c, now)
                .await?;
            out.push(c);
        }
        Ok(out)
    }

    /// Renames classes. An id that does not exist is a 400, as the spec says.
    pub async fn update_tax_classes(
        &self,
        who: &Principal,
        changes: Vec<(i64, String)>,
    ) -> TaxClassResult<Vec<TaxClass>> {
        who.require(Scope::V2Information)?;
        let store_id = who.store.id;
        let existing = self.classes_of(store_id).await?;
        let now = self.now();
        let mut out: Vec<TaxClass> = Vec::with_capacity(changes.len());
        for (i, (id, name)) in changes.iter().enumerate() {
            if *id < 1 {
                return Err(DomainError::field(
                    format!("[{i}].id"),
                    format!("Tax class ids start at 1 (class 0 is built in), not {id}."),
                )
                .into());
            }
            if out.iter().any(|c| c.id == *id) {
                return Err(duplicate_in_batch(format!("[{i}].id"), *id).into());
            }
            let name = check_class_name(name, &format!("[{i}].name"))?;
            if out.iter().any(|c| c.name.eq_ignore_ascii_case(&name)) {
                return Err(DomainError::field(
                    format!("[{i}].name"),
                    format!("The name `{name}` appears more than once in the request."),
                )
                .into());
            }
            let mut c = existing
                .iter()
                .find(|c| c.id == *id)
                .cloned()
                .ok_or_else(|| {
                    ServiceError::BadRequest(format!("Tax class {id} does not exist."))
                })?;
            // Renaming within the batch may swap names, so compare with classes not in it.
            let others: Vec<TaxClass> = existing
                .iter()
                .filter(|e| !changes.iter().any(|(cid, _)| *cid == e.id))
                .cloned()
                .collect();
            check_class_name_free(&others, &name, Some(*id), &format!("[{i}].name"))?;
            c.name = name;
            c.updated_at = now;
            out.push(c);
        }
        for c in &out {
            self.store
                .put_config_doc(store_id, CLASS, c.id, c, now)
                .await?;
        }
        Ok(out)
    }

    /// Deletes classes: every id must exist (400 otherwise) and class 0 stays. Rates lose
    /// their rate for a deleted class, settings that named it fall back to class 0, and
    /// products still in it are taxed as class 0.
    pub async fn delete_tax_classes(&self, who: &Principal, ids: &[i64]) -> ServiceResult<()> {
        who.require(Scope::V2Information)?;
        if ids.contains(&DEFAULT_TAX_CLASS_ID) {
            return Err(DomainError::field(
                "id:in",
                "The default tax class (id 0) cannot be deleted.",
            )
            .into());
        }
        let store_id = who.store.id;
        let existing = self.classes_of(store_id).await?;
        if let Some(missing) = ids.iter().find(|id| !existing.iter().any(|c| c.id == **id)) {
            return Err(ServiceError::BadRequest(format!(
                "Tax class {missing} does not exist."
            )));
        }
        let now = self.now();
        for mut r in self.rates_of(store_id).await? {
            let before = r.class_rates.len();
            r.class_rates.retain(|c| !ids.contains(&c.tax_class_id));
            if r.class_rates.len() != before {
                self.store
                    .put_config_doc(store_id, RATE, r.id, &r, now)
                    .await?;
            }
        }
        let mut s = self.settings_of(store_id).await?;
        let before = s.clone();
        if ids.contains(&s.shipping_tax_class_id) {
            s.shipping_tax_class_id = DEFAULT_TAX_CLASS_ID;
        }
        if ids.contains(&s.gift_wrapping_tax_class_id) {
            s.gift_wrapping_tax_class_id = DEFAULT_TAX_CLASS_ID;
        }
        if s != before {
            self.store
                .put_config_doc(store_id, SETTINGS, SETTINGS_ID, &s, now)
                .await?;
        }
        for id in ids {
            self.store.delete_config_doc(store_id, CLASS, *id).await?;
        }
        Ok(())
    }

    // ---------- settings ----------

    pub async fn tax_settings(&self, who: &Principal) -> ServiceResult<TaxSettings> {
        who.require(Scope::V2InformationReadOnly)?;
        let mut s = self.settings_of(who.store.id).await?;
        s.tax_entered_with_prices = who.store.settings.prices_include_tax;
        Ok(s)
    }

    /// Changes the settings given; `tax_entered_with_prices` changes the store's
    /// `prices_include_tax` too.
    pub async fn update_tax_settings(
        &self,
        who: &Principal,
        input: TaxSettingsInput,
    ) -> ServiceResult<TaxSettings> {
        who.require(Scope::V2Information)?;
        let store_id = who.store.id;
        let zones = self.zones_of(store_id).await?;
        let classes = self.classes_of(store_id).await?;
        let mut s = self.settings_of(store_id).await?;
        s.tax_entered_with_prices = who.store.settings.prices_include_tax;
        input.apply(&mut s, &zones, &classes)?;
        if s.tax_entered_with_prices != who.store.settings.prices_include_tax {
            let mut store_settings = who.store.settings.clone();
            store_settings.prices_include_tax = s.tax_entered_with_prices;
            self.store
                .update_store_settings(store_id, &store_settings)
                .await?;
            self.auth_cache.clear();
        }
        self.store
            .put_config_doc(store_id, SETTINGS, SETTINGS_ID, &s, self.now())
            .await?;
        Ok(s)
    }

    // ---------- demo ----------

    /// Seeds the demo store's tax (see the module docs for the ids). Does nothing when the
    /// store already has tax classes, so running it twice changes nothing.
    pub async fn seed_demo_tax(&self, store: &StoreRecord) -> ServiceResult<()> {
        let store_id = store.id;
        if !self.classes_of(store_id).await?.is_empty() {
            return Ok(());
        }
        let classes = self
            .create_classes_in(
                store_id,
                vec![
                    "Non-Taxable Products".into(),
                    "Shipping".into(),
                    "Gift Wrapping".into(),
                ],
            )
            .await
            .map_err(|e| match e {
                TaxClassError::Service(s) => s,
                TaxClassError::Duplicate { message, .. } => ServiceError::Duplicate(message),
            })?;
        let (non_taxable, shipping, gift_wrapping) = match classes.as_slice() {
            [a, b, c] => (a.id, b.id, c.id),
            _ => return Err(DomainError::invalid("The demo tax classes were not created.").into()),
        };
        let us = |state: &str| ShopperTargetSettings {
            locations: vec![ZoneLocation {
                country_code: "US".into(),
                subdivision_codes: vec![state.into()],
                postal_codes: vec![],
            }],
            customer_groups: vec![],
        };
        let eu = ShopperTargetSettings {
            locations: ["AT", "BE", "DE", "ES", "FR", "IE", "IT", "NL"]
                .iter()
                .map(|c| ZoneLocation {
                    country_code: (*c).into(),
                    subdivision_codes: vec![],
                    postal_codes: vec![],
                })
                .collect(),
            customer_groups: vec![],
        };
        let zone = |name: &str, targets: ShopperTargetSettings, inclusive: bool| TaxZoneInput {
            name: Some(name.into()),
            enabled: Some(true),
            price_display_settings: Some(ZonePriceDisplayInput {
                show_inclusive: Some(inclusive),
                show_both_on_detail_view: Some(false),
                show_both_on_list_view: Some(false),
            }),
            shopper_target_settings: Some(ShopperTargetInput {
                locations: Some(targets.locations),
                customer_groups: Some(targets.customer_groups),
            }),
        };
        let zones = self
            .create_zones_in(
                store_id,
                vec![
                    zone("California", us("CA"), false),
                    zone("New York", us("NY"), false),
                    zone("EU VAT", eu, true),
                ],
            )
            .await?;
        let taxed = [DEFAULT_TAX_CLASS_ID, shipping, gift_wrapping];
        let rate = |name: &str, zone_id: i64, percent: Decimal| {
            let mut class_rates: Vec<ClassRate> = taxed
                .iter()
                .map(|c| ClassRate {
                    tax_class_id: *c,
                    rate: percent,
                })
                .collect();
            class_rates.push(ClassRate {
                tax_class_id: non_taxable,
                rate: Decimal::ZERO,
            });
            TaxRateInput {
                name: Some(name.into()),
                enabled: Some(true),
                priority: Some(1),
                class_rates: Some(class_rates),
                tax_zone_id: Some(zone_id),
            }
        };
        let ids: Vec<i64> = zones.iter().map(|z| z.id).collect();
        let [ca, ny, vat] = ids.as_slice() else {
            return Err(DomainError::invalid("The demo tax zones were not created.").into());
        };
        self.create_rates_in(
            store_id,
            vec![
                rate("CA Sales Tax", *ca, Decimal::new(725, 2)),
                rate("NY Sales Tax", *ny, Decimal::new(8875, 3)),
                rate("VAT", *vat, Decimal::from(20)),
            ],
        )
        .await?;
        let settings = TaxSettings {
            tax_entered_with_prices: store.settings.prices_include_tax,
            shipping_tax_class_id: shipping,
            gift_wrapping_tax_class_id: gift_wrapping,
            ..TaxSettings::default()
        };
        self.store
            .put_config_doc(store_id, SETTINGS, SETTINGS_ID, &settings, self.now())
            .await?;
        Ok(())
    }
}

/// 409 when another class (not `except`) already has the name, ignoring case.
fn check_class_name_free(
    existing: &[TaxClass],
    name: &str,
    except: Option<i64>,
    field: &str,
) -> TaxClassResult<()> {
    let taken = existing
        .iter()
        .any(|c| Some(c.id) != except && c.name.eq_ignore_ascii_case(name))
        || name.eq_ignore_ascii_case(crate::domain::tax::DEFAULT_TAX_CLASS_NAME);
    if taken {
        return Err(TaxClassError::Duplicate {
            field: field.to_string(),
            message: format!("A tax class named `{name}` already exists."),
        });
    }
    Ok(())
}
