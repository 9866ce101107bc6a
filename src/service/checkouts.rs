//! Checkout use cases. A checkout is its cart (same id); every change goes through
//! the cart's optimistic `version` and is priced in full before it is saved.

use super::accounts::Principal;
use super::carts::{Changed, Purpose, cart_not_found};
use super::coupons::COUPON_KIND;
use super::{Kassa, ServiceResult};
use crate::domain::DomainError;
use crate::domain::address::Address;
use crate::domain::address_rules::{AddressPurpose, normalize_and_validate};
use crate::domain::cart::{Cart, Outcome, ProductsById};
use crate::domain::checkout::{ConsignmentChange, ConsignmentSpec, FeeSpec, Offers, PricingRules};
use crate::domain::coupon::{CODE_MAX_CHARS, Coupon};
use crate::domain::discount::{CodeOffer, check_code};
use crate::domain::money::Money;
use crate::domain::promotion::{Promotion, PromotionSettings};
use crate::domain::shipping::{PickupLocation, ShippingConfig};
use crate::domain::tax::{TaxAddress, TaxConfig};
use crate::store::UseKind;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

/// A store's pricing rules (shipping, tax, promotions, coupons) as of one `config_version`.
#[derive(Debug)]
pub struct StoreRules {
    pub config_version: i64,
    pub shipping: ShippingConfig,
    pub tax: TaxConfig,
    /// Every promotion, automatic and coupon, by priority then id.
    pub promotions: Vec<Promotion>,
    /// V2 coupons by lower-cased code.
    pub coupons: HashMap<String, Coupon>,
    /// Lower-cased promotion code → (index in `promotions`, index in its `codes`).
    pub promotion_codes: HashMap<String, (usize, usize)>,
    pub promotion_settings: PromotionSettings,
}

impl StoreRules {
    /// What a typed code names, ignoring case.
    pub fn code_offer(&self, typed: &str) -> Option<CodeOffer<'_>> {
        let key = typed.trim().to_lowercase();
        if let Some(c) = self.coupons.get(&key) {
            return Some(CodeOffer::Legacy(c));
        }
        let (p, c) = self.promotion_codes.get(&key)?;
        let promotion = self.promotions.get(*p)?;
        Some(CodeOffer::Promotion {
            promotion,
            code: promotion.codes.get(*c)?,
        })
    }

    /// What a typed code names, or the field error a shopper sees for an unknown one.
    pub fn typed_code_offer(&self, typed: &str) -> Result<CodeOffer<'_>, DomainError> {
        self.code_offer(typed).ok_or_else(|| {
            DomainError::field(
                "coupon_code",
                format!("The coupon code `{typed}` is not valid for this store."),
            )
        })
    }
}

/// Rules per store, reloaded when the store's `config_version` moves on.
#[derive(Debug, Default)]
pub struct RulesCache(RwLock<HashMap<i64, Arc<StoreRules>>>);

/// Everything pricing a cart needs, loaded once per change.
pub(crate) struct PricingKit {
    rules: Arc<StoreRules>,
    prices_include_tax: bool,
    default_currency: String,
    now: i64,
    customer_group_id: i64,
    customer_order_count: i64,
}

impl PricingKit {
    pub fn rules(&self) -> &StoreRules {
        &self.rules
    }

    /// The automatic promotions and the cart's codes, as pricing weighs them.
    pub fn offers<'a>(&'a self, cart: &Cart) -> Offers<'a> {
        Offers {
            automatic: &self.rules.promotions,
            codes: cart
                .checkout
                .coupon_codes
                .iter()
                .filter_map(|c| self.rules.code_offer(c))
                .collect(),
            now: self.now,
            default_currency_code: &self.default_currency,
            customer_group_id: self.customer_group_id,
            customer_order_count: self.customer_order_count,
        }
    }

    pub fn price(&self, cart: &mut Cart) -> Result<(), DomainError> {
        let offers = self.offers(cart);
        self.price_with(cart, &offers)
    }

    /// Prices with the store's rules but works out no promotion or coupon: an edited
    /// order keeps the discounts it had (see `domain::order_admin::keep_discounts`).
    pub fn price_without_offers(&self, cart: &mut Cart) -> Result<(), DomainError> {
        let offers = Offers {
            now: self.now,
            default_currency_code: &self.default_currency,
            ..Offers::default()
        };
        self.price_with(cart, &offers)
    }

    fn price_with(&self, cart: &mut Cart, offers: &Offers<'_>) -> Result<(), DomainError> {
        let rules = &self.rules;
        let pricing = PricingRules {
            shipping: &rules.shipping,
            tax: &rules.tax,
            prices_include_tax: self.prices_include_tax,
            tax_on_billing_address: rules.tax.settings.tax_address == TaxAddress::Billing,
            shipping_tax_class_id: rules.tax.settings.shipping_tax_class_id,
        };
        let with = cart.needs_rules().then_some(&pricing);
        cart.price_with(with, offers)
    }
}

/// Where the promotion settings live among the configuration documents.
pub const PROMOTION_SETTINGS_KIND: &str = "promotion_settings";

/// The usage limits a code is under: (counter, id, max uses, max uses per customer).
pub fn code_limits(offer: &CodeOffer<'_>) -> Vec<(UseKind, i64, i64, i64)> {
    match offer {
        CodeOffer::Legacy(c) => vec![(UseKind::Coupon, c.id, c.max_uses, c.max_uses_per_customer)],
        CodeOffer::Promotion { promotion, code } => vec![
            (UseKind::Promotion, promotion.id, promotion.max_uses, 0),
            (
                UseKind::PromotionCode,
                code.id,
                code.max_uses,
                code.max_uses_per_customer,
            ),
        ],
    }
}

impl Kassa {
    /// The store's pricing rules: one small query when nothing changed.
    pub async fn store_rules(&self, who: &Principal) -> ServiceResult<Arc<StoreRules>> {
        let version = self.store.config_version(who.store.id).await?;
        self.store_rules_at(who, version).await
    }

    /// The store's pricing rules as of `version`, a `config_version` just read.
    pub async fn store_rules_at(
        &self,
        who: &Principal,
        version: i64,
    ) -> ServiceResult<Arc<StoreRules>> {
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
        let promotions = self.promotions(who.store.id).await?;
        let mut promotion_codes = HashMap::new();
        for (pi, p) in promotions.iter().enumerate() {
            for (ci, c) in p.codes.iter().enumerate() {
                promotion_codes.insert(c.code.trim().to_lowercase(), (pi, ci));
            }
        }
        let coupons: Vec<Coupon> = self.store.config_docs(who.store.id, COUPON_KIND).await?;
        let rules = Arc::new(StoreRules {
            config_version: version,
            shipping: self.shipping_config(who.store.id).await?,
            tax: self.tax_config(who.store.id).await?,
            promotions,
            coupons: coupons
                .into_iter()
                .map(|c| (c.code.trim().to_lowercase(), c))
                .collect(),
            promotion_codes,
            promotion_settings: self
                .store
                .config_doc(who.store.id, PROMOTION_SETTINGS_KIND, 1)
                .await?
                .unwrap_or_default(),
        });
        if let Ok(mut m) = self.rules_cache.0.write() {
            m.insert(who.store.id, rules.clone());
        }
        Ok(rules)
    }

    pub async fn promotion_settings(&self, store_id: i64) -> ServiceResult<PromotionSettings> {
        Ok(self
            .store
            .config_doc(store_id, PROMOTION_SETTINGS_KIND, 1)
            .await?
            .unwrap_or_default())
    }

    pub async fn set_promotion_settings(
        &self,
        store_id: i64,
        settings: PromotionSettings,
    ) -> ServiceResult<PromotionSettings> {
        self.store
            .put_config_doc(store_id, PROMOTION_SETTINGS_KIND, 1, &settings, self.now())
            .await?;
        Ok(settings)
    }

    /// Rules plus what pricing needs to know of the cart's customer.
    pub(crate) async fn pricing_kit(
        &self,
        who: &Principal,
        customer_id: i64,
    ) -> ServiceResult<PricingKit> {
        let rules = self.store_rules(who).await?;
        self.pricing_kit_with(who, customer_id, rules).await
    }

    /// A pricing kit for `customer_id` around rules already in hand.
    pub(crate) async fn pricing_kit_with(
        &self,
        who: &Principal,
        customer_id: i64,
        rules: Arc<StoreRules>,
    ) -> ServiceResult<PricingKit> {
        let (customer_group_id, customer_order_count) = if customer_id != 0
            && rules.promotions.iter().any(|p| {
                !p.customer.group_ids.is_empty()
                    || !p.customer.excluded_group_ids.is_empty()
                    || p.customer.minimum_order_count > 0
            }) {
            self.customer_facts(who.store.id, customer_id).await?
        } else {
            (0, 0)
        };
        Ok(PricingKit {
            rules,
            prices_include_tax: who.store.settings.prices_include_tax,
            default_currency: who.store.settings.default_currency().code,
            now: self.now(),
            customer_group_id,
            customer_order_count,
        })
    }

    /// Prices a cart in full with the store's rules and offers.
    pub(crate) async fn price_cart(&self, who: &Principal, cart: &mut Cart) -> ServiceResult<()> {
        let kit = self.pricing_kit(who, cart.customer_id).await?;
        kit.price(cart)?;
        Ok(())
    }

    /// Shared, not copied: a checkout read only renders the cart.
    pub async fn get_checkout(&self, who: &Principal, id: Uuid) -> ServiceResult<Arc<Cart>> {
        self.store
            .get_cart_shared(who.store.id, id, self.now())
            .await?
            .ok_or_else(|| cart_not_found(id))
    }

    pub async fn update_customer_message(
        &self,
        who: &Principal,
        id: Uuid,
        message: String,
        version: Option<i64>,
    ) -> ServiceResult<Cart> {
        self.change_checkout(who, id, version, |cart, _| {
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
        self.change_checkout(who, id, version, |cart, _| {
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
        self.change_checkout(who, id, version, |cart, kit| {
            let specs = with_pickup_addresses(&kit.rules().shipping, &specs)?;
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
        self.change_checkout(who, id, version, |cart, kit| {
            if let Some(p) = change.pickup_method_id {
                usable_pickup_location(&kit.rules().shipping, p, "pickup_option.pickup_method_id")?;
            }
            cart.update_consignment(&consignment_id, &change)?;
            if let Some(option) = &shipping_option_id {
                // Quotes for the consignment as changed, then the choice among them.
                kit.price(cart)?;
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
        self.change_checkout(who, id, version, |cart, _| {
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
        self.change_checkout(who, id, version, |cart, _| {
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
        self.change_checkout(who, id, version, |cart, _| {
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
        self.change_checkout(who, id, version, |cart, _| {
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
        self.change_checkout(who, id, version, |cart, _| {
            cart.set_manual_discounts(cart_level.clone(), per_line.clone())?;
            Ok(Outcome::Kept)
        })
        .await
    }

    /// Applies a coupon code (a V2 coupon's or a coupon promotion's). Refused with the
    /// reason when the code is unknown, expired, used up or does not fit this checkout;
    /// a second code only when the store allows several.
    pub async fn apply_coupon(
        &self,
        who: &Principal,
        id: Uuid,
        code: &str,
        version: Option<i64>,
    ) -> ServiceResult<Cart> {
        let typed = code.trim();
        if typed.is_empty() || typed.chars().count() > CODE_MAX_CHARS {
            return Err(DomainError::field(
                "coupon_code",
                format!("A coupon code is 1 to {CODE_MAX_CHARS} characters."),
            )
            .into());
        }
        let check = |customer_id: i64, rules: Arc<StoreRules>| async move {
            let offer = rules.typed_code_offer(typed)?;
            self.check_code_uses(who, &offer, customer_id).await
        };
        let change = |cart: &mut Cart, _: &ProductsById, kit: &PricingKit| {
            let offer = kit.rules().typed_code_offer(typed)?;
            let stored = offer.code();
            let multiple = kit.rules().promotion_settings.multiple_coupons;
            let codes = &cart.checkout.coupon_codes;
            if codes.iter().any(|c| c.eq_ignore_ascii_case(stored)) {
                return Err(DomainError::field(
                    "coupon_code",
                    format!("The coupon `{stored}` is already applied to this checkout."),
                ));
            }
            if !codes.is_empty() && !multiple {
                return Err(DomainError::field(
                    "coupon_code",
                    format!(
                        "This store allows one coupon per order and `{}` is already applied; remove it first.",
                        codes.join("`, `")
                    ),
                ));
            }
            let offers = kit.offers(cart);
            let ctx = cart.discount_context(&offers);
            check_code(
                &offer,
                &cart.discount_lines(),
                &kit.rules().promotions,
                &offers.codes,
                &ctx,
            )?;
            cart.checkout.coupon_codes.push(stored.to_string());
            Ok(Outcome::Kept)
        };
        self.change_cart_checked(who, id, version, Purpose::Edit, check, change)
            .await?
            .ok_or_else(|| cart_not_found(id))
    }

    /// Refuses a code whose uses (in all, or by this customer) are exhausted.
    async fn check_code_uses(
        &self,
        who: &Principal,
        offer: &CodeOffer<'_>,
        customer_id: i64,
    ) -> ServiceResult<()> {
        for (kind, ref_id, max, per_customer) in code_limits(offer) {
            if max > 0 {
                let used = self
                    .store
                    .use_counts(who.store.id, kind, 0, &[ref_id])
                    .await?
                    .get(&ref_id)
                    .copied()
                    .unwrap_or(0);
                if used >= max {
                    return Err(DomainError::field(
                        "coupon_code",
                        format!(
                            "The coupon `{}` has been used the maximum number of times.",
                            offer.code()
                        ),
                    )
                    .into());
                }
            }
            if per_customer > 0 && customer_id != 0 {
                let used = self
                    .store
                    .use_counts(who.store.id, kind, customer_id, &[ref_id])
                    .await?
                    .get(&ref_id)
                    .copied()
                    .unwrap_or(0);
                if used >= per_customer {
                    return Err(DomainError::field(
                        "coupon_code",
                        format!(
                            "The coupon `{}` has already been used the maximum number of times by this customer.",
                            offer.code()
                        ),
                    )
                    .into());
                }
            }
        }
        Ok(())
    }

    pub async fn delete_coupon(
        &self,
        who: &Principal,
        id: Uuid,
        code: &str,
    ) -> ServiceResult<Cart> {
        let typed = code.trim().to_string();
        self.change_checkout(who, id, None, |cart, _| {
            let codes = &mut cart.checkout.coupon_codes;
            if !codes.iter().any(|c| c.eq_ignore_ascii_case(&typed)) {
                return Err(DomainError::not_found(format!(
                    "The coupon code `{typed}` is not applied to this checkout."
                )));
            }
            codes.retain(|c| !c.eq_ignore_ascii_case(&typed));
            Ok(Outcome::Kept)
        })
        .await
    }

    pub(crate) async fn change_checkout<F>(
        &self,
        who: &Principal,
        id: Uuid,
        version: Option<i64>,
        change: F,
    ) -> ServiceResult<Cart>
    where
        F: Fn(&mut Cart, &PricingKit) -> Result<Outcome, DomainError>,
    {
        let changed: Changed = self
            .change_cart(who, id, version, Purpose::Edit, |cart, _, kit| {
                change(cart, kit)
            })
            .await?;
        changed.ok_or_else(|| cart_not_found(id))
    }
}

/// The consignments with their pickup locations checked, and a pickup consignment
/// without an address given its location's: it is taxed where it is collected.
fn with_pickup_addresses(
    shipping: &ShippingConfig,
    specs: &[ConsignmentSpec],
) -> Result<Vec<ConsignmentSpec>, DomainError> {
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut s = s.clone();
            let Some(p) = s.pickup_method_id else {
                return Ok(s);
            };
            let loc = usable_pickup_location(
                shipping,
                p,
                &format!("[{i}].pickup_option.pickup_method_id"),
            )?;
            if s.address.is_none() {
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
            Ok(s)
        })
        .collect()
}

/// A pickup location a consignment may name: one that exists and is enabled.
fn usable_pickup_location<'a>(
    shipping: &'a ShippingConfig,
    id: i64,
    field: &str,
) -> Result<&'a PickupLocation, DomainError> {
    match shipping.pickup_locations.iter().find(|l| l.id == id) {
        None => Err(DomainError::field(
            field,
            format!("Pickup method {id} does not exist."),
        )),
        Some(l) if !l.enabled => Err(DomainError::field(
            field,
            format!("Pickup method {id} is disabled."),
        )),
        Some(l) => Ok(l),
    }
}
