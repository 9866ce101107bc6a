//! A customer's address book (Customers V3 `/customers/addresses`; the Checkout SDK's
//! `customer.addresses`).
//!
//! # Rules
//!
//! - Checked and normalized like a shipping address
//!   ([`AddressPurpose::Saved`](super::address_rules::AddressPurpose::Saved)): country
//!   code, state (resolved to its code and name), postal code and phone in their
//!   canonical forms; the state and postal code required where the country has them.
//! - `first_name`, `last_name`, `address1`, `city` and `country_code` are required on
//!   create; `city` and `state_or_province` at most 100 characters (the spec's limits).
//! - `address_type`: `residential` (default) or `commercial`.
//! - One customer holds an address once: two addresses with the same core fields (names,
//!   company, phone, type, lines, city, state, country, postal code; compared without
//!   regard to case) are the same address ([`CustomerAddress::key`]).

use super::DomainError;
use super::address::Address;
use super::address_rules::{AddressPurpose, normalize_and_validate};
use super::customer::entry_of_batch;
use serde::{Deserialize, Serialize};

/// The most addresses one POST or PUT may carry.
pub const MAX_BATCH: usize = 10;
/// The spec's limit for `city` and `state_or_province`.
pub const CITY_MAX_CHARS: usize = 100;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressType {
    #[default]
    Residential,
    Commercial,
}

impl AddressType {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressType::Residential => "residential",
            AddressType::Commercial => "commercial",
        }
    }

    fn parse(s: &str) -> Result<Self, DomainError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "residential" => Ok(AddressType::Residential),
            "commercial" => Ok(AddressType::Commercial),
            other => Err(DomainError::field(
                "address_type",
                format!(
                    "The field `address_type` must be `residential` or `commercial`, not `{other}`."
                ),
            )),
        }
    }
}

/// A saved address of a customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerAddress {
    pub id: i64,
    pub customer_id: i64,
    pub address_type: AddressType,
    /// Normalized; `email` and `custom_fields` are always empty.
    pub address: Address,
}

impl CustomerAddress {
    /// What makes two addresses of a customer the same one (see the module docs).
    pub fn key(&self) -> String {
        let a = &self.address;
        [
            a.first_name.as_str(),
            &a.last_name,
            &a.company,
            &a.phone,
            self.address_type.as_str(),
            &a.address1,
            &a.address2,
            &a.city,
            &a.country_code,
            &a.state_or_province,
            &a.postal_code,
        ]
        .iter()
        .map(|s| s.to_lowercase())
        .collect::<Vec<_>>()
        .join("\u{1f}")
    }
}

/// An address to save, or (PUT) the fields of one to change; `None` = not sent.
#[derive(Clone, Debug, Default)]
pub struct CustomerAddressInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub state_or_province: Option<String>,
    /// Only the storefront sends it (the Checkout SDK's `stateOrProvinceCode`).
    pub state_or_province_code: Option<String>,
    pub postal_code: Option<String>,
    pub country_code: Option<String>,
    pub phone: Option<String>,
    pub address_type: Option<String>,
}

impl From<&Address> for CustomerAddressInput {
    /// A checkout address as an entry for the address book (its email and custom
    /// fields are not kept there).
    fn from(a: &Address) -> Self {
        let text = |s: &str| Some(s.to_string());
        CustomerAddressInput {
            first_name: text(&a.first_name),
            last_name: text(&a.last_name),
            company: text(&a.company),
            address1: text(&a.address1),
            address2: text(&a.address2),
            city: text(&a.city),
            state_or_province: text(&a.state_or_province),
            state_or_province_code: text(&a.state_or_province_code),
            postal_code: text(&a.postal_code),
            country_code: text(&a.country_code),
            phone: text(&a.phone),
            address_type: None,
        }
    }
}

fn required(field: &str) -> DomainError {
    DomainError::field(field, format!("The field `{field}` is required."))
}

/// Builds the address a create (`existing` = `None`) or an update asks for, checking
/// every rule (see the module docs).
pub fn build_customer_address(
    existing: Option<&CustomerAddress>,
    id: i64,
    customer_id: i64,
    input: &CustomerAddressInput,
) -> Result<CustomerAddress, DomainError> {
    let old = existing.map(|e| &e.address);
    let pick = |sent: &Option<String>, kept: Option<&String>| -> String {
        sent.clone().or_else(|| kept.cloned()).unwrap_or_default()
    };
    // A state name sent alone replaces the stored one and its code.
    let state_code = match (&input.state_or_province_code, &input.state_or_province) {
        (Some(c), _) => c.clone(),
        (None, Some(_)) => String::new(),
        (None, None) => old
            .map(|a| a.state_or_province_code.clone())
            .unwrap_or_default(),
    };
    let draft = Address {
        first_name: pick(&input.first_name, old.map(|a| &a.first_name)),
        last_name: pick(&input.last_name, old.map(|a| &a.last_name)),
        company: pick(&input.company, old.map(|a| &a.company)),
        address1: pick(&input.address1, old.map(|a| &a.address1)),
        address2: pick(&input.address2, old.map(|a| &a.address2)),
        city: pick(&input.city, old.map(|a| &a.city)),
        state_or_province: pick(&input.state_or_province, old.map(|a| &a.state_or_province)),
        state_or_province_code: state_code,
        country_code: pick(&input.country_code, old.map(|a| &a.country_code)),
        postal_code: pick(&input.postal_code, old.map(|a| &a.postal_code)),
        phone: pick(&input.phone, old.map(|a| &a.phone)),
        ..Address::default()
    };
    for (field, value) in [
        ("first_name", &draft.first_name),
        ("last_name", &draft.last_name),
        ("address1", &draft.address1),
        ("city", &draft.city),
    ] {
        if value.trim().is_empty() {
            return Err(required(field));
        }
    }
    let address = normalize_and_validate(draft, AddressPurpose::Saved, "")?;
    for (field, value) in [
        ("city", &address.city),
        ("state_or_province", &address.state_or_province),
    ] {
        if value.chars().count() > CITY_MAX_CHARS {
            return Err(DomainError::field(
                field,
                format!("The field `{field}` must be at most {CITY_MAX_CHARS} characters."),
            ));
        }
    }
    let address_type = match (&input.address_type, existing) {
        (Some(t), _) => AddressType::parse(t)?,
        (None, Some(e)) => e.address_type,
        (None, None) => AddressType::default(),
    };
    Ok(CustomerAddress {
        id,
        customer_id,
        address_type,
        address,
    })
}

/// Names a batch entry's fields: `city` of the third item becomes `[2].city`.
pub fn in_batch(e: DomainError, index: usize) -> DomainError {
    entry_of_batch(e, "Address", index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CustomerAddressInput {
        CustomerAddressInput {
            first_name: Some(" Jane ".into()),
            last_name: Some("Doe".into()),
            address1: Some("1 Main St".into()),
            city: Some("Austin".into()),
            state_or_province: Some("texas".into()),
            postal_code: Some("78759".into()),
            country_code: Some("us".into()),
            phone: Some("(512) 555-0100".into()),
            ..Default::default()
        }
    }

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::Unprocessable { errors, .. } => errors[0].0.clone(),
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn normalizes_like_a_shipping_address() {
        let a = build_customer_address(None, 3, 7, &input()).unwrap();
        assert_eq!((a.id, a.customer_id), (3, 7));
        assert_eq!(a.address.first_name, "Jane");
        assert_eq!(a.address.country_code, "US");
        assert_eq!(a.address.country, "United States");
        assert_eq!(a.address.state_or_province, "Texas");
        assert_eq!(a.address.state_or_province_code, "TX");
        assert_eq!(a.address.phone, "5125550100");
        assert_eq!(a.address_type, AddressType::Residential);
        assert_eq!(a.address.email, "");
    }

    #[test]
    fn required_and_bounded_fields() {
        for (f, change) in [
            (
                "first_name",
                (|i: &mut CustomerAddressInput| i.first_name = None)
                    as fn(&mut CustomerAddressInput),
            ),
            ("last_name", |i| i.last_name = Some(" ".into())),
            ("address1", |i| i.address1 = None),
            ("city", |i| i.city = None),
            ("country_code", |i| i.country_code = None),
            ("state_or_province", |i| i.state_or_province = None),
            ("postal_code", |i| i.postal_code = Some("ABC".into())),
            ("city", |i| i.city = Some("c".repeat(101))),
            ("address_type", |i| i.address_type = Some("office".into())),
        ] {
            let mut i = input();
            change(&mut i);
            assert_eq!(
                field_of(build_customer_address(None, 1, 1, &i).unwrap_err()),
                f
            );
        }
    }

    #[test]
    fn updates_keep_what_is_not_sent_and_keys_ignore_case() {
        let a = build_customer_address(None, 1, 1, &input()).unwrap();
        let u = build_customer_address(
            Some(&a),
            1,
            1,
            &CustomerAddressInput {
                city: Some("Dallas".into()),
                address_type: Some("Commercial".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(u.address.city, "Dallas");
        assert_eq!(u.address.state_or_province_code, "TX");
        assert_eq!(u.address_type, AddressType::Commercial);
        let mut shouting = input();
        shouting.address1 = Some("1 MAIN ST".into());
        let b = build_customer_address(None, 2, 1, &shouting).unwrap();
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), u.key());
    }

    #[test]
    fn batch_errors_name_the_entry() {
        let e = in_batch(DomainError::field("city", "bad"), 2);
        assert_eq!(field_of(e.clone()), "[2].city");
        assert!(e.to_string().starts_with("Address [2]"));
    }
}
