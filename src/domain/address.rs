//! Postal addresses as checkouts use them (billing and shipping), with BigCommerce's
//! field names.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub company: String,
    pub address1: String,
    pub address2: String,
    pub city: String,
    /// State or province name, as the shopper gave it or as looked up from the code.
    pub state_or_province: String,
    /// ISO 3166-2 subdivision code without the country prefix (`CA`, `NY`), when the country has them.
    pub state_or_province_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country_code: String,
    /// Country name looked up from the code.
    pub country: String,
    pub postal_code: String,
    pub phone: String,
    pub custom_fields: Vec<CustomField>,
    /// The shopper asked for this checkout address to be added to their address book
    /// when a signed-in customer places the order (the storefront's `shouldSaveAddress`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub should_save: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField {
    pub field_id: String,
    /// A string, or a list for multi-value fields.
    pub field_value: serde_json::Value,
}

/// Where an address sits, the part shipping and tax zones match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location<'a> {
    pub country_code: &'a str,
    pub state_code: &'a str,
    pub postal_code: &'a str,
}

impl Address {
    /// The same place and recipient, whatever `should_save` says.
    pub fn same_as(&self, other: &Address) -> bool {
        Address {
            should_save: other.should_save,
            ..self.clone()
        } == *other
    }

    pub fn location(&self) -> Location<'_> {
        Location {
            country_code: &self.country_code,
            state_code: &self.state_or_province_code,
            postal_code: &self.postal_code,
        }
    }
}
