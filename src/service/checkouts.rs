//! Checkout use cases. A checkout is its cart (same id); every change goes through
//! the cart's optimistic `version` and is priced in full before it is saved.

use super::accounts::Principal;
use super::carts::{Changed, Purpose, cart_not_found};
use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::address::Address;
use crate::domain::address_rules::{AddressPurpose, normalize_and_validate};
use crate::domain::cart::{Cart, Outcome};
use crate::domain::checkout::{ConsignmentChange, ConsignmentSpec, FeeSpec, PricingRules};
use crate::domain::money::Money;
use crate::domain::shipping::ShippingConfig;
use crate::domain::tax::{TaxAddress, TaxConfig};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

/// A store's shipping and tax rules as of one `config_version`.
#[derive(Debug)]
pub struct StoreRules {
    pub config_version: i64,
    pub shipping: ShippingConfig,
    pub tax: TaxConfig,
}

/// Rules per store, reloaded when the store's `config_version` moves on.
#[derive(Debug, Default)]
pub struct RulesCache(RwLock<HashMap<i64, Arc<StoreRules>>>);

impl Kassa {
    /// The shipping and tax rules for pricing: one small query when nothing changed.
    pub async fn store_rules(&self, who: &Principal) -> ServiceResult<Arc<StoreRules>> {
        let version = self.store.config_version(who.store.id).await?;
        if let Some(r) = self
            .rules_cache
            .0
            .read()
            .ok()
            .and_then(|m| m.get(&who.store.id).cloned())
            .filter(|r| r.config_version == version)
        {
            return Ok(r);
        }
        let rules = Arc::new(StoreRules {
            config_version: version,
            shipping: self.shipping_config(who.store.id).await?,
            tax: self.tax_config(who.store.id).await?,
        });
        if let Ok(mut m) = self.rules_cache.0.write() {
            m.insert(who.store.id, rules.clone());
        }
        Ok(rules)
    }

    /// Prices a cart in full with the store's rules (loaded only when the checkout needs them).
    pub(crate) async fn price_cart(&self, who: &Principal, cart: &mut Cart) -> ServiceResult<()> {
        if !cart.needs_rules() {
            cart.price(None)?;
            return Ok(());
        }
        let rules = self.store_rules(who).await?;
        let pricing = PricingRules {
            shipping: &rules.shipping,
            tax: &rules.tax,
            prices_include_tax: who.store.settings.prices_include_tax,
            tax_on_billing_address: rules.tax.settings.tax_address == TaxAddress::Billing,
            shipping_tax_class_id: rules.tax.settings.shipping_tax_class_id,
        };
        cart.price(Some(&pricing))?;
        Ok(())
    }

    pub async fn get_checkout(&self, who: &Principal, id: Uuid) -> ServiceResult<Cart> {
        self.get_cart(who, id).await
    }

    pub async fn update_customer_message(
        &self,
        who: &Principal,
        id: Uuid,
        message: String,
        version: Option<i64>,
    ) -> ServiceResult<Cart> {
        self.change_checkout(who, id, version, |cart| {
            cart.set_customer_message(&message)?;
            Ok(Outcome::Kept)
        })
        .await
    }

    /// Adds or replaces the billing address (`address_id` names the one to replace).
    pub async fn set_billing_address(
        &self,
        who: &Principal,
        id: Uuid,
        address_id: Option<&str>,
        address: Address,
        version: Option<i64>,
    ) -> ServiceResult<Cart> {
        let address = normalize_and_validate(address, AddressPurpose::Billing, "")?;
        let address_id = address_id.map(str::to_string);
        self.change_checkout(who, id, version, |cart| {
            if let Some(aid) = &address_id {
                let current = cart
                    .checkout
                    .billing_address
                    .as_ref()
                    .map(|b| b.id.as_str());
                if current != Some(aid.as_str()) {
                    return Err(DomainError::not_found(format!(
                        "Billing address {aid} does not exist on this checkout."
                    )));
                }
            }
            cart.set_billing_address(address.clone());
            Ok(Outcome::Kept)
        })
        .await
    }

    pub async fn add_consignments(
        &self,
        who: &Principal,
        id: Uuid,
        specs: Vec<ConsignmentSpec>,
        version: Option<i64>,
    ) -> ServiceResult<Cart> {
        if specs.is_empty() {
            return Err(
                DomainError::field("consignments", "Send at least one consignment.").into(),
            );
        }
        let specs = specs
            .into_iter()
            .enumerate()
            .map(|(i, mut s)| {
                if let Some(a) = s.address.take() {
                    s.address = Some(normalize_and_validate(
                        a,
                        AddressPurpose::Shipping,
                        &format!("[{i}].address."),
                    )?);
                }
                Ok(s)
            })
            .collect::<Result<Vec<_>, DomainError>>()?;
        let rules = self.store_rules(who).await?;
        for (i, s) in specs.iter().enumerate() {
            if let Some(p) = s.pickup_method_id {
                usable_pickup_location(
                    &rules.shipping,
                    p,
                    &format!("[{i}].pickup_option.pickup_method_id"),
                )?;
            }
        }
        // A pickup consignment without an address is taxed where it is collected.
        let specs: Vec<ConsignmentSpec> = specs
            .into_iter()
            .map(|mut s| {
                if s.address.is_none()
                    && let Some(loc) = s
                        .pickup_method_id
                        .and_then(|p| rules.shipping.pickup_locations.iter().find(|l| l.id == p))
                {
                    let a = &loc.address;
                    s.address = Some(Address {
                        address1: a.address1.clone(),
                        address2: a.address2.clone(),
                        city: a.city.clone(),
                        state_or_province: a.state_or_province.clone(),
                        state_or_province_code: a.state_or_province_code.clone(),
                        country_code: a.country_code.clone(),
                        postal_code: a.postal_code.clone(),
                        phone: a.phone.clone(),
                        company: loc.name.clone(),
                        ..Address::default()
                    });
                }
                s
            })
            .collect();
        self.change_checkout(who, id, version, |cart| {
            cart.add_consignments(&specs)?;
            Ok(Outcome::Kept)
        })
        .await
    }

    /// Changes a consignment's address, items or pickup option, and/or selects its
    /// shipping option (checked against the options its address and items get).
    pub async fn update_consignment(
        &self,
        who: &Principal,
        id: Uuid,
        consignment_id: &str,
        mut change: ConsignmentChange,
        shipping_option_id: Option<String>,
        version: Option<i64>,
    ) -> ServiceResult<Cart> {
        if let Some(a) = change.address.take() {
            change.address = Some(normalize_and_validate(
                a,
                AddressPurpose::Shipping,
                "address.",
            )?);
        }
        let consignment_id = consignment_id.to_string();
        let rules = self.store_rules(who).await?;
        if let Some(p) = change.pickup_method_id {
            usable_pickup_location(&rules.shipping, p, "pickup_option.pickup_method_id")?;
        }
        let pricing = PricingRules {
            shipping: &rules.shipping,
            tax: &rules.tax,
            prices_include_tax: who.store.settings.prices_include_tax,
            tax_on_billing_address: rules.tax.settings.tax_address == TaxAddress::Billing,
            shipping_tax_class_id: rules.tax.settings.shipping_tax_class_id,
        };
        self.change_checkout(who, id, version, |cart| {
            cart.update_consignment(&consignment_id, &change)?;
            if let Some(option) = &shipping_option_id {
                // Quotes for the consignment as changed, then the choice among them.
                cart.price(Some(&pricing))?;
                cart.select_shipping_option(&consignment_id, option)?;
            }
            Ok(Outcome::Kept)
        })
        .await
    }

    pub async fn delete_consignment(
        &self,
        who: &Principal,
        id: Uuid,
        consignment_id: &str,
        version: Option<i64>,
    ) -> ServiceResult<Cart> {
        self.change_checkout(who, id, version, |cart| {
            cart.delete_consignment(consignment_id)?;
            Ok(Outcome::Kept)
        })
        .await
    }

    pub async fn add_fees(
        &self,
        who: &Principal,
        id: Uuid,
        fees: Vec<FeeSpec>,
        version: Option<i64>,
    ) -> ServiceResult<Cart> {
        self.change_checkout(who, id, version, |cart| {
            cart.add_fees(&fees)?;
            Ok(Outcome::Kept)
        })
        .await
    }

    pub async fn update_fees(
        &self,
        who: &Principal,
        id: Uuid,
        fees: Vec<(Uuid, FeeSpec)>,
        version: Option<i64>,
    ) -> ServiceResult<Cart> {
        self.change_checkout(who, id, version, |cart| {
            cart.update_fees(&fees)?;
            Ok(Outcome::Kept)
        })
        .await
    }

    pub async fn delete_fees(
        &self,
        who: &Principal,
        id: Uuid,
        ids: Vec<Uuid>,
        version: Option<i64>,
    ) -> ServiceResult<Cart> {
        self.change_checkout(who, id, version, |cart| {
            cart.delete_fees(&ids)?;
            Ok(Outcome::Kept)
        })
        .await
    }

    pub async fn set_manual_discounts(
        &self,
        who: &Principal,
        id: Uuid,
        cart_level: Vec<Money>,
        per_line: Vec<(Uuid, Money)>,
        version: Option<i64>,
    ) -> ServiceResult<Cart> {
        self.change_checkout(who, id, version, |cart| {
            cart.set_manual_discounts(cart_level.clone(), per_line.clone())?;
            Ok(Outcome::Kept)
        })
        .await
    }

    /// Coupons are stored (`/v2/coupons`) but not yet applied to checkouts: every code is refused,
    /// saying whether it exists.
    pub async fn apply_coupon(
        &self,
        who: &Principal,
        id: Uuid,
        code: &str,
        _version: Option<i64>,
    ) -> ServiceResult<Cart> {
        let code = code.trim();
        if code.is_empty() || code.chars().count() > 50 {
            return Err(
                DomainError::field("coupon_code", "A coupon code is 1 to 50 characters.").into(),
            );
        }
        self.get_cart(who, id).await?;
        let message = match self.coupon_by_code(who.store.id, code).await? {
            Some(_) => format!(
                "The coupon `{code}` exists, but Kassa does not apply coupons to checkouts yet; it was not applied."
            ),
            None => format!("The coupon code `{code}` is not valid for this store."),
        };
        Err(DomainError::field("coupon_code", message).into())
    }

    pub async fn delete_coupon(
        &self,
        who: &Principal,
        id: Uuid,
        code: &str,
    ) -> ServiceResult<Cart> {
        self.get_cart(who, id).await?;
        Err(ServiceError::NotFound(format!(
            "The coupon code `{code}` is not applied to this checkout."
        )))
    }

    async fn change_checkout<F>(
        &self,
        who: &Principal,
        id: Uuid,
        version: Option<i64>,
        change: F,
    ) -> ServiceResult<Cart>
    where
        F: Fn(&mut Cart) -> Result<Outcome, DomainError>,
    {
        let changed: Changed = self
            .change_cart(who, id, version, &[], Purpose::Edit, |cart, _| change(cart))
            .await?;
        changed.ok_or_else(|| cart_not_found(id))
    }
}

/// A pickup location a consignment may name: one that exists and is enabled.
fn usable_pickup_location(
    shipping: &ShippingConfig,
    id: i64,
    field: &str,
) -> Result<(), DomainError> {
    match shipping.pickup_locations.iter().find(|l| l.id == id) {
        None => Err(DomainError::field(
            field,
            format!("Pickup method {id} does not exist."),
        )),
        Some(l) if !l.enabled => Err(DomainError::field(
            field,
            format!("Pickup method {id} is disabled."),
        )),
        Some(_) => Ok(()),
    }
}
