//! Normalizing and validating billing and shipping addresses the way BigCommerce's
//! checkout endpoints expect them (`AddressProperties` for the billing address,
//! `CreateConsignmentRequest.address` for shipping).
//!
//! What [`normalize_and_validate`] does to an address that passes:
//! - every string is trimmed; `country_code` is upper-cased and `country` set to the
//!   country's name;
//! - for countries with known subdivisions (see [`countries::has_subdivisions`]) the
//!   state is resolved from either `state_or_province_code` or `state_or_province`
//!   (code, `US-CA` form or name) and both are rewritten to the canonical code and
//!   name; elsewhere the state is kept as sent (its code upper-cased);
//! - postal codes are written in the country's usual form (`k1a0b1` → `K1A 0B1`,
//!   `1000001` → `100-0001` in Japan) and upper-cased;
//! - the phone number is stored stripped of spaces, dashes, dots and parentheses, so it
//!   matches the spec's pattern wherever it is returned; it is
//!   checked against the spec's pattern after removing spaces, dashes, dots and
//!   parentheses. [`phone_digits`] gives that stripped form to callers who need it.
//!
//! Normalizing is idempotent: a normalized address passes again unchanged.
//! All problems are reported together, each naming its field with the caller's
//! prefix (`""`, `"address."`, `"consignments[0].address."`).

use super::address::Address;
use super::cart::is_plausible_email;
use super::countries;
use super::error::DomainError;

/// Which endpoint the address came in through; shipping addresses need more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressPurpose {
    /// The checkout's billing address: `email` and `country_code` required.
    Billing,
    /// A consignment's address: also `state_or_province` (where the country has
    /// states the address must name) and `postal_code` (where the country uses them).
    Shipping,
    /// A customer's saved address (address book): the shipping rules, without an email
    /// (a saved address has none).
    Saved,
}

impl AddressPurpose {
    /// Whether the address must name the state and postal code where its country has them.
    fn needs_full_location(self) -> bool {
        matches!(self, AddressPurpose::Shipping | AddressPurpose::Saved)
    }
}

/// Longest first name, last name, company, city, address line or state, in characters.
pub const MAX_TEXT_LEN: usize = 255;
/// Longest email address (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_POSTAL_CODE_LEN: usize = 30;
pub const MAX_PHONE_LEN: usize = 50;
pub const MAX_CUSTOM_FIELDS: usize = 50;

/// Trims, canonicalizes and checks an address; see the module documentation.
///
/// On failure returns `DomainError::Unprocessable` whose `errors` list every problem
/// as `(field_prefix + field, message)` and whose `title` is the first message.
/// Single-line fields must not contain control characters (line breaks, tabs, NUL).
pub fn normalize_and_validate(
    addr: Address,
    purpose: AddressPurpose,
    field_prefix: &str,
) -> Result<Address, DomainError> {
    let mut a = trimmed(addr);
    let mut p = Problems {
        prefix: field_prefix,
        list: Vec::new(),
    };

    // The country decides the state and postal-code rules, so resolve it first; its
    // problem is reported in the spec's field order below.
    a.country_code = a.country_code.to_ascii_uppercase();
    let country = countries::country_code(&a.country_code);
    if let Some(code) = country {
        a.country_code = code.to_string();
        a.country = countries::country_name(code)
            .unwrap_or_default()
            .to_string();
    }

    p.text("first_name", &a.first_name, MAX_TEXT_LEN);
    p.text("last_name", &a.last_name, MAX_TEXT_LEN);
    if purpose != AddressPurpose::Saved {
        check_email(&mut p, &a.email);
    }
    p.text("company", &a.company, MAX_TEXT_LEN);
    p.text("address1", &a.address1, MAX_TEXT_LEN);
    p.text("address2", &a.address2, MAX_TEXT_LEN);
    p.text("city", &a.city, MAX_TEXT_LEN);

    let name_ok = p.text("state_or_province", &a.state_or_province, MAX_TEXT_LEN);
    let code_ok = p.text(
        "state_or_province_code",
        &a.state_or_province_code,
        MAX_TEXT_LEN,
    );
    if let Some(country) = country {
        if name_ok && code_ok {
            resolve_state(&mut p, &mut a, country, purpose);
        }
    } else {
        a.state_or_province_code = a.state_or_province_code.to_ascii_uppercase();
    }

    if country.is_none() {
        check_country_code(&mut p, &a);
    }

    let postal_ok = p.text("postal_code", &a.postal_code, MAX_POSTAL_CODE_LEN);
    if let (true, Some(country)) = (postal_ok, country) {
        check_postal_code(&mut p, &mut a, country, purpose);
    }

    let phone_ok = p.text("phone", &a.phone, MAX_PHONE_LEN);
    let stripped = phone_digits(&a.phone);
    if phone_ok && !a.phone.is_empty() && stripped.is_none() {
        let message = format!(
            "`{}` {} is not a phone number: expected digits with an optional leading + \
             and an optional extension (`+14155550123`, `(415) 555-0123x12`).",
            p.name("phone"),
            show(&a.phone)
        );
        p.push("phone", message);
    }
    // Kept in the stripped form, because responses must match the spec's pattern too.
    if let Some(digits) = stripped {
        a.phone = digits;
    }

    check_custom_fields(&mut p, &a);

    match p.list.first() {
        None => Ok(a),
        Some((_, first)) => Err(DomainError::Unprocessable {
            title: first.clone(),
            errors: p.list,
        }),
    }
}

/// The phone number with spaces, dashes, dots and parentheses removed, if that matches
/// the spec's pattern `^\+?[1-9]\d{1,14}(x\d{1,5})?$` (its `{1-5}` read as `{1,5}`).
pub fn phone_digits(phone: &str) -> Option<String> {
    let stripped: String = phone
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let rest = stripped.strip_prefix('+').unwrap_or(&stripped);
    let (number, extension) = match rest.split_once('x') {
        Some((n, e)) => (n, Some(e)),
        None => (rest, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let number_ok =
        (2..=15).contains(&number.len()) && all_digits(number) && !number.starts_with('0');
    let extension_ok = extension.is_none_or(|e| (1..=5).contains(&e.len()) && all_digits(e));
    (number_ok && extension_ok).then_some(stripped)
}

struct Problems<'a> {
    prefix: &'a str,
    list: Vec<(String, String)>,
}

impl Problems<'_> {
    fn name(&self, field: &str) -> String {
        format!("{}{}", self.prefix, field)
    }

    fn push(&mut self, field: &str, message: String) {
        let name = self.name(field);
        self.list.push((name, message));
    }

    /// Length and control characters of a single-line field; true when it is fine.
    fn text(&mut self, field: &str, value: &str, max: usize) -> bool {
        if value.chars().count() > max {
            let message = format!("`{}` is longer than {max} characters.", self.name(field));
            self.push(field, message);
            false
        } else if value.chars().any(char::is_control) {
            let message = format!(
                "`{}` must be a single line without control characters (line breaks, tabs).",
                self.name(field)
            );
            self.push(field, message);
            false
        } else {
            true
        }
    }
}

fn trimmed(mut a: Address) -> Address {
    for s in [
        &mut a.first_name,
        &mut a.last_name,
        &mut a.email,
        &mut a.company,
        &mut a.address1,
        &mut a.address2,
        &mut a.city,
        &mut a.state_or_province,
        &mut a.state_or_province_code,
        &mut a.country_code,
        &mut a.country,
        &mut a.postal_code,
        &mut a.phone,
    ] {
        trim_in_place(s);
    }
    for f in &mut a.custom_fields {
        trim_in_place(&mut f.field_id);
        trim_json(&mut f.field_value);
    }
    a
}

fn trim_in_place(s: &mut String) {
    let t = s.trim();
    if t.len() != s.len() {
        *s = t.to_string();
    }
}

fn trim_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => trim_in_place(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(trim_json),
        _ => {}
    }
}

/// A value quoted for a message, cut short if long.
fn show(value: &str) -> String {
    const MAX: usize = 40;
    if value.chars().count() > MAX {
        let cut: String = value.chars().take(MAX).collect();
        format!("{:?}", format!("{cut}…"))
    } else {
        format!("{value:?}")
    }
}

fn country_label(code: &str) -> String {
    match countries::country_name(code) {
        Some(name) => format!("{name} ({code})"),
        None => code.to_string(),
    }
}

fn check_email(p: &mut Problems<'_>, email: &str) {
    let field = p.name("email");
    if email.is_empty() {
        p.push("email", format!("`{field}` is required."));
    } else if email.chars().count() > MAX_EMAIL_LEN {
        p.push(
            "email",
            format!("`{field}` is longer than {MAX_EMAIL_LEN} characters."),
        );
    } else if !is_plausible_email(email) || email.chars().any(char::is_control) {
        p.push(
            "email",
            format!(
                "`{field}` {} is not a valid email address (expected something like \
                 name@example.com).",
                show(email)
            ),
        );
    }
}

/// Called only when `country_code` is not a known country.
fn check_country_code(p: &mut Problems<'_>, a: &Address) {
    let field = p.name("country_code");
    let message = if a.country_code.is_empty() {
        match countries::country_by_name(&a.country) {
            Some(code) => format!(
                "`{field}` is required: the ISO 3166-1 alpha-2 code of the country \
                 ({code} for {}).",
                show(&a.country)
            ),
            None => format!(
                "`{field}` is required: the ISO 3166-1 alpha-2 code of the country, \
                 such as US or DE."
            ),
        }
    } else {
        match countries::country_by_name(&a.country_code) {
            Some(code) => format!(
                "`{field}` must be an ISO 3166-1 alpha-2 code, not a name: use {code} for {}.",
                show(&a.country_code)
            ),
            None => format!(
                "`{field}` {} is not an ISO 3166-1 alpha-2 country code (such as US, GB or DE).",
                show(&a.country_code)
            ),
        }
    };
    p.push("country_code", message);
}

/// A well-known subdivision to show in messages.
fn example_subdivision(country: &str) -> Option<(&'static str, &'static str)> {
    let code = match country {
        "US" => "CA",
        "CA" => "ON",
        "AU" => "NSW",
        "IN" => "MH",
        "MX" => "JAL",
        "BR" => "SP",
        "DE" => "BY",
        "JP" => "13",
        _ => "",
    };
    countries::subdivision(country, code)
        .or_else(|| countries::subdivisions(country).first().copied())
}

fn one_of_message(field: &str, country: &str, value: Option<&str>) -> String {
    let kind = countries::subdivision_kind(country).unwrap_or("subdivisions");
    let example = match example_subdivision(country) {
        Some((code, name)) => format!(", e.g. {code} or {name}"),
        None => String::new(),
    };
    let got = match value {
        Some(v) => format!("; got {}", show(v)),
        None => String::new(),
    };
    format!(
        "`{field}` must be one of the {kind} of {}{example}{got}.",
        country_label(country)
    )
}

fn resolve_state(p: &mut Problems<'_>, a: &mut Address, country: &str, purpose: AddressPurpose) {
    if !countries::has_subdivisions(country) {
        a.state_or_province_code = a.state_or_province_code.to_ascii_uppercase();
        return;
    }
    let by_code = if a.state_or_province_code.is_empty() {
        None
    } else {
        match countries::subdivision(country, &a.state_or_province_code) {
            Some(found) => Some(found),
            None => {
                let field = p.name("state_or_province_code");
                let message = one_of_message(&field, country, Some(&a.state_or_province_code));
                p.push("state_or_province_code", message);
                return;
            }
        }
    };
    let by_name = if a.state_or_province.is_empty() {
        None
    } else {
        countries::subdivision(country, &a.state_or_province)
    };
    let resolved = match (by_code, by_name) {
        (Some(code), Some(name)) if code != name => {
            let message = format!(
                "`{}` ({}) and `{}` ({}) name different {}; send one, or make them agree.",
                p.name("state_or_province"),
                name.1,
                p.name("state_or_province_code"),
                code.0,
                countries::subdivision_kind(country).unwrap_or("subdivisions"),
            );
            p.push("state_or_province", message);
            return;
        }
        // A code that resolves wins over a name that does not (`CA` + `Calif.`).
        (Some(found), _) | (None, Some(found)) => found,
        (None, None) if !a.state_or_province.is_empty() => {
            let field = p.name("state_or_province");
            let message = one_of_message(&field, country, Some(&a.state_or_province));
            p.push("state_or_province", message);
            return;
        }
        (None, None) => {
            if purpose.needs_full_location() && countries::state_required(country) {
                let field = p.name("state_or_province");
                let message = format!(
                    "`{field}` is required for shipping addresses in {}: {}",
                    country_label(country),
                    one_of_message(&field, country, None)
                );
                p.push("state_or_province", message);
            }
            return;
        }
    };
    a.state_or_province_code = resolved.0.to_string();
    a.state_or_province = resolved.1.to_string();
}

fn check_postal_code(
    p: &mut Problems<'_>,
    a: &mut Address,
    country: &str,
    purpose: AddressPurpose,
) {
    let field = p.name("postal_code");
    if a.postal_code.is_empty() {
        if purpose.needs_full_location() && countries::postal_code_required(country) {
            let message = format!(
                "`{field}` is required for shipping addresses in {} (format: {}).",
                country_label(country),
                countries::postal_code_format(country)
            );
            p.push("postal_code", message);
        }
        return;
    }
    match countries::canonical_postal_code(country, &a.postal_code) {
        Some(canonical) => a.postal_code = canonical,
        None => {
            let message = format!(
                "`{field}` {} is not a valid postal code for {} (format: {}).",
                show(&a.postal_code),
                country_label(country),
                countries::postal_code_format(country)
            );
            p.push("postal_code", message);
        }
    }
}

fn check_custom_fields(p: &mut Problems<'_>, a: &Address) {
    if a.custom_fields.len() > MAX_CUSTOM_FIELDS {
        let message = format!(
            "`{}` has {} entries; at most {MAX_CUSTOM_FIELDS} are allowed.",
            p.name("custom_fields"),
            a.custom_fields.len()
        );
        p.push("custom_fields", message);
        return;
    }
    for (i, f) in a.custom_fields.iter().enumerate() {
        let id_field = format!("custom_fields[{i}].field_id");
        if f.field_id.is_empty() {
            let message = format!(
                "`{}` is required (the form field's id from Get Form Fields).",
                p.name(&id_field)
            );
            p.push(&id_field, message);
        } else {
            p.text(&id_field, &f.field_id, MAX_TEXT_LEN);
        }
        if !custom_value_ok(&f.field_value) {
            let value_field = format!("custom_fields[{i}].field_value");
            let message = format!(
                "`{}` must be a string, a number, or a list of them.",
                p.name(&value_field)
            );
            p.push(&value_field, message);
        }
    }
}

fn custom_value_ok(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_));
    match v {
        Value::Array(items) => items.iter().all(scalar),
        other => scalar(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::address::CustomField;
    use proptest::prelude::*;
    use serde_json::json;

    fn us_address() -> Address {
        Address {
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            email: "jane@example.com".into(),
            company: "Acme".into(),
            address1: "1 Market St".into(),
            address2: "Suite 100".into(),
            city: "San Francisco".into(),
            state_or_province: "California".into(),
            state_or_province_code: "CA".into(),
            country_code: "US".into(),
            country: "United States".into(),
            postal_code: "94103".into(),
            phone: "+14155550123".into(),
            custom_fields: vec![],
            should_save: false,
        }
    }

    fn errors(r: Result<Address, DomainError>) -> Vec<(String, String)> {
        match r {
            Err(DomainError::Unprocessable { errors, .. }) => errors,
            other => panic!("expected 422, got {other:?}"),
        }
    }

    fn fields(r: Result<Address, DomainError>) -> Vec<String> {
        errors(r).into_iter().map(|(f, _)| f).collect()
    }

    fn ship(a: Address) -> Result<Address, DomainError> {
        normalize_and_validate(a, AddressPurpose::Shipping, "")
    }

    fn bill(a: Address) -> Result<Address, DomainError> {
        normalize_and_validate(a, AddressPurpose::Billing, "")
    }

    #[test]
    fn a_good_address_passes_both_purposes_unchanged() {
        let a = us_address();
        assert_eq!(ship(a.clone()), Ok(a.clone()));
        assert_eq!(bill(a.clone()), Ok(a));
    }

    #[test]
    fn strings_are_trimmed_and_codes_canonicalized() {
        let a = Address {
            first_name: "  Jane ".into(),
            email: " jane@example.com\t".into(),
            city: " San Francisco ".into(),
            state_or_province: "".into(),
            state_or_province_code: " us-ca ".into(),
            country_code: " us ".into(),
            country: "".into(),
            postal_code: " 941031234 ".into(),
            phone: " 415.555.0123 ".into(),
            custom_fields: vec![CustomField {
                field_id: " field_25 ".into(),
                field_value: json!([" a ", "b "]),
            }],
            ..us_address()
        };
        let out = ship(a).unwrap();
        assert_eq!(out.first_name, "Jane");
        assert_eq!(out.email, "jane@example.com");
        assert_eq!(out.city, "San Francisco");
        assert_eq!(out.country_code, "US");
        assert_eq!(out.country, "United States");
        assert_eq!(out.state_or_province_code, "CA");
        assert_eq!(out.state_or_province, "California");
        assert_eq!(out.postal_code, "94103-1234");
        assert_eq!(out.phone, "4155550123", "the phone is kept stripped");
        assert_eq!(out.custom_fields[0].field_id, "field_25");
        assert_eq!(out.custom_fields[0].field_value, json!(["a", "b"]));
    }

    #[test]
    fn country_code_is_required_and_must_be_iso() {
        let missing = Address {
            country_code: "".into(),
            country: "".into(),
            ..us_address()
        };
        let e = errors(bill(missing));
        assert_eq!(e[0].0, "country_code");
        assert!(e[0].1.contains("required"), "{}", e[0].1);

        let named = Address {
            country_code: "".into(),
            country: "Germany".into(),
            ..us_address()
        };
        let e = errors(bill(named));
        assert!(e[0].1.contains("DE"), "{}", e[0].1);

        let by_name = Address {
            country_code: "Germany".into(),
            ..us_address()
        };
        let e = errors(bill(by_name));
        assert_eq!(e.len(), 1);
        assert!(e[0].1.contains("use DE"), "{}", e[0].1);

        let unknown = Address {
            country_code: "ZZ".into(),
            ..us_address()
        };
        let e = errors(ship(unknown));
        assert_eq!(
            e.len(),
            1,
            "no state or postal noise when the country is unknown"
        );
        assert!(e[0].1.contains("\"ZZ\""), "{}", e[0].1);
    }

    #[test]
    fn country_name_is_looked_up_from_the_code() {
        let a = Address {
            country_code: "ca".into(),
            country: "Merica".into(),
            state_or_province: "Ontario".into(),
            state_or_province_code: "".into(),
            postal_code: "m5v3l9".into(),
            ..us_address()
        };
        let out = ship(a).unwrap();
        assert_eq!(out.country_code, "CA");
        assert_eq!(out.country, "Canada");
        assert_eq!(out.state_or_province_code, "ON");
        assert_eq!(out.postal_code, "M5V 3L9");
    }

    #[test]
    fn email_is_required_and_checked_for_both_purposes() {
        for purpose in [AddressPurpose::Billing, AddressPurpose::Shipping] {
            let none = Address {
                email: "  ".into(),
                ..us_address()
            };
            let e = errors(normalize_and_validate(none, purpose, ""));
            assert_eq!(e, vec![("email".into(), "`email` is required.".into())]);

            let bad = Address {
                email: "jane at example".into(),
                ..us_address()
            };
            let e = errors(normalize_and_validate(bad, purpose, ""));
            assert_eq!(e[0].0, "email");
            assert!(e[0].1.contains("not a valid email"));

            let nul = Address {
                email: "jane\0@example.com".into(),
                ..us_address()
            };
            assert_eq!(
                fields(normalize_and_validate(nul, purpose, "")),
                vec!["email"]
            );

            let long = Address {
                email: format!("{}@example.com", "a".repeat(250)),
                ..us_address()
            };
            let e = errors(normalize_and_validate(long, purpose, ""));
            assert!(e[0].1.contains("longer than 254"));
        }
    }

    #[test]
    fn shipping_needs_state_and_postal_code_billing_does_not() {
        let bare = Address {
            state_or_province: "".into(),
            state_or_province_code: "".into(),
            postal_code: "".into(),
            ..us_address()
        };
        assert_eq!(
            fields(ship(bare.clone())),
            vec!["state_or_province", "postal_code"]
        );
        let out = bill(bare).unwrap();
        assert_eq!(out.state_or_province, "");
        assert_eq!(out.postal_code, "");
    }

    #[test]
    fn state_is_not_required_where_addresses_do_not_name_one() {
        let gb = Address {
            state_or_province: "".into(),
            state_or_province_code: "".into(),
            country_code: "GB".into(),
            postal_code: "SW1A 1AA".into(),
            phone: "".into(),
            ..us_address()
        };
        assert!(ship(gb).is_ok());
        let de = Address {
            state_or_province: "".into(),
            state_or_province_code: "".into(),
            country_code: "DE".into(),
            postal_code: "10115".into(),
            ..us_address()
        };
        assert!(ship(de).is_ok());
    }

    #[test]
    fn free_text_states_are_kept_where_subdivisions_are_unknown() {
        let gb = Address {
            state_or_province: "Greater London".into(),
            state_or_province_code: "lnd".into(),
            country_code: "GB".into(),
            postal_code: "sw1a1aa".into(),
            ..us_address()
        };
        let out = ship(gb).unwrap();
        assert_eq!(out.state_or_province, "Greater London");
        assert_eq!(out.state_or_province_code, "LND");
        assert_eq!(out.country, "United Kingdom");
        assert_eq!(out.postal_code, "SW1A 1AA");
    }

    #[test]
    fn postal_code_is_not_required_where_there_are_none() {
        for country in ["AE", "HK", "IE"] {
            let a = Address {
                state_or_province: "".into(),
                state_or_province_code: "".into(),
                country_code: country.into(),
                postal_code: "".into(),
                ..us_address()
            };
            assert!(ship(a).is_ok(), "{country}");
        }
    }

    #[test]
    fn state_resolves_from_code_or_name_in_any_form() {
        for (code, name) in [
            ("CA", ""),
            ("ca", ""),
            ("US-CA", ""),
            ("", "California"),
            ("", "california"),
            ("", "CA"),
            ("", "us-ca"),
            ("California", ""),
            ("CA", "california"),
            ("CA", "Calif."),
        ] {
            let a = Address {
                state_or_province_code: code.into(),
                state_or_province: name.into(),
                ..us_address()
            };
            let out = ship(a).unwrap_or_else(|e| panic!("{code:?}/{name:?}: {e:?}"));
            assert_eq!(out.state_or_province_code, "CA", "{code:?}/{name:?}");
            assert_eq!(out.state_or_province, "California", "{code:?}/{name:?}");
        }
    }

    #[test]
    fn states_of_other_countries_resolve() {
        let cases = [
            ("DE", "Bayern", "10115", "BY", "Bavaria"),
            ("JP", "Tokyo", "1000001", "13", "Tokyo"),
            ("MX", "Nuevo Leon", "64000", "NLE", "Nuevo León"),
            ("IN", "Orissa", "751001", "OD", "Odisha"),
            ("AU", "nsw", "2000", "NSW", "New South Wales"),
            ("BR", "SP", "01310-100", "SP", "São Paulo"),
        ];
        for (country, state, postal, code, name) in cases {
            let a = Address {
                country_code: country.into(),
                state_or_province: state.into(),
                state_or_province_code: "".into(),
                postal_code: postal.into(),
                ..us_address()
            };
            let out = ship(a).unwrap_or_else(|e| panic!("{country}: {e:?}"));
            assert_eq!(
                (
                    out.state_or_province_code.as_str(),
                    out.state_or_province.as_str()
                ),
                (code, name),
                "{country}"
            );
        }
    }

    #[test]
    fn a_state_of_another_country_is_rejected() {
        let a = Address {
            state_or_province: "Ontario".into(),
            state_or_province_code: "".into(),
            ..us_address()
        };
        let e = errors(ship(a));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, "state_or_province");
        assert_eq!(
            e[0].1,
            "`state_or_province` must be one of the states of United States (US), \
             e.g. CA or California; got \"Ontario\"."
        );

        let a = Address {
            state_or_province_code: "ON".into(),
            ..us_address()
        };
        assert_eq!(fields(ship(a)), vec!["state_or_province_code"]);

        // Billing does not require a state, but one that is given must be real.
        let a = Address {
            state_or_province: "Narnia".into(),
            state_or_province_code: "".into(),
            ..us_address()
        };
        assert_eq!(fields(bill(a)), vec!["state_or_province"]);
    }

    #[test]
    fn conflicting_state_code_and_name_are_rejected() {
        let a = Address {
            state_or_province: "Texas".into(),
            state_or_province_code: "CA".into(),
            ..us_address()
        };
        let e = errors(ship(a));
        assert_eq!(e[0].0, "state_or_province");
        assert!(
            e[0].1.contains("Texas") && e[0].1.contains("CA"),
            "{}",
            e[0].1
        );
    }

    #[test]
    fn postal_codes_are_checked_per_country() {
        let a = Address {
            postal_code: "9410".into(),
            ..us_address()
        };
        let e = errors(bill(a));
        assert_eq!(e[0].0, "postal_code");
        assert!(e[0].1.contains("12345 or 12345-6789"), "{}", e[0].1);

        let a = Address {
            country_code: "NL".into(),
            state_or_province: "".into(),
            state_or_province_code: "".into(),
            postal_code: "1012ab".into(),
            ..us_address()
        };
        assert_eq!(ship(a).unwrap().postal_code, "1012 AB");

        let a = Address {
            postal_code: "9".repeat(31),
            ..us_address()
        };
        let e = errors(ship(a));
        assert!(e[0].1.contains("longer than 30"), "{}", e[0].1);
    }

    #[test]
    fn phone_numbers_follow_the_spec_pattern() {
        for good in [
            "+14155550123",
            "4155550123",
            "+1 (415) 555-0123",
            "415.555.0123",
            "+44 20 7946 0958x123",
            "12",
            "+123456789012345",
            "4155550123x12345",
        ] {
            assert!(phone_digits(good).is_some(), "{good}");
            let a = Address {
                phone: good.into(),
                ..us_address()
            };
            assert_eq!(
                ship(a).map(|a| a.phone),
                Ok(phone_digits(good).unwrap_or_default()),
                "{good}"
            );
        }
        // The spec's pattern has no room for a national trunk prefix: UK, German,
        // French or Japanese numbers written nationally (`020 7946 0958`) fail and
        // must be sent in international form (`+44 20 7946 0958`).
        for bad in [
            "020 7946 0958",
            "0123456789",
            "+0123",
            "1",
            "+1234567890123456",
            "555-CALL-NOW",
            "4155550123x",
            "4155550123x123456",
            "4155550123 ext 12",
            "++14155550123",
            "4155550123X12",
        ] {
            assert!(phone_digits(bad).is_none(), "{bad}");
            let a = Address {
                phone: bad.into(),
                ..us_address()
            };
            assert_eq!(fields(ship(a)), vec!["phone"], "{bad}");
        }
        assert_eq!(
            phone_digits(" +1 (415) 555-0123 ").as_deref(),
            Some("+14155550123")
        );
        let empty = Address {
            phone: "".into(),
            ..us_address()
        };
        assert!(ship(empty).is_ok(), "phone is optional");
    }

    #[test]
    fn field_lengths_are_enforced() {
        let long = "x".repeat(256);
        let a = Address {
            first_name: long.clone(),
            last_name: long.clone(),
            company: long.clone(),
            address1: long.clone(),
            address2: long.clone(),
            city: long.clone(),
            phone: format!("+1{}", "1".repeat(49)),
            ..us_address()
        };
        assert_eq!(
            fields(ship(a)),
            vec![
                "first_name",
                "last_name",
                "company",
                "address1",
                "address2",
                "city",
                "phone"
            ]
        );
        let exactly = Address {
            first_name: "é".repeat(255),
            ..us_address()
        };
        assert!(ship(exactly).is_ok(), "limits count characters, not bytes");
    }

    #[test]
    fn control_characters_are_rejected() {
        let a = Address {
            address1: "1 Market St\nSuite 100".into(),
            city: "San\0Francisco".into(),
            ..us_address()
        };
        assert_eq!(fields(ship(a)), vec!["address1", "city"]);
    }

    #[test]
    fn custom_fields_are_checked() {
        let field = |id: &str, value| CustomField {
            field_id: id.into(),
            field_value: value,
        };
        let a = Address {
            custom_fields: vec![
                field("field_1", json!("x")),
                field("field_2", json!(["a", 2])),
                field("field_3", json!(7)),
                field(" ", json!("x")),
                field("field_5", json!({"a": 1})),
                field("field_6", json!([["nested"]])),
                field("field_7", json!(null)),
            ],
            ..us_address()
        };
        assert_eq!(
            fields(bill(a)),
            vec![
                "custom_fields[3].field_id",
                "custom_fields[4].field_value",
                "custom_fields[5].field_value",
                "custom_fields[6].field_value"
            ]
        );
        let many = Address {
            custom_fields: (0..51)
                .map(|i| field(&format!("f{i}"), json!("x")))
                .collect(),
            ..us_address()
        };
        assert_eq!(fields(bill(many)), vec!["custom_fields"]);
        let fifty = Address {
            custom_fields: (0..50)
                .map(|i| field(&format!("f{i}"), json!("x")))
                .collect(),
            ..us_address()
        };
        assert!(bill(fifty).is_ok());
    }

    #[test]
    fn all_problems_are_collected_with_the_prefix() {
        let a = Address {
            email: "nope".into(),
            state_or_province: "Narnia".into(),
            state_or_province_code: "".into(),
            postal_code: "ABCDE".into(),
            phone: "call me".into(),
            ..us_address()
        };
        let r = normalize_and_validate(a, AddressPurpose::Shipping, "consignments[0].address.");
        let Err(DomainError::Unprocessable { title, errors }) = r else {
            panic!("expected 422");
        };
        let names: Vec<_> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "consignments[0].address.email",
                "consignments[0].address.state_or_province",
                "consignments[0].address.postal_code",
                "consignments[0].address.phone",
            ]
        );
        assert_eq!(title, errors[0].1, "the title is the first problem");
        assert!(
            title.starts_with("`consignments[0].address.email`"),
            "{title}"
        );
        assert!(
            errors[1]
                .1
                .starts_with("`consignments[0].address.state_or_province` must be one of")
        );
    }

    #[test]
    fn missing_state_message_is_actionable() {
        let a = Address {
            country_code: "JP".into(),
            state_or_province: "".into(),
            state_or_province_code: "".into(),
            postal_code: "100-0001".into(),
            ..us_address()
        };
        let e = errors(normalize_and_validate(
            a,
            AddressPurpose::Shipping,
            "address.",
        ));
        assert_eq!(e[0].0, "address.state_or_province");
        assert!(
            e[0].1
                .contains("prefectures of Japan (JP), e.g. 13 or Tokyo"),
            "{}",
            e[0].1
        );
    }

    #[test]
    fn long_values_are_cut_short_in_messages() {
        let a = Address {
            country_code: "Q".repeat(200),
            ..us_address()
        };
        let e = errors(bill(a));
        assert!(e[0].1.chars().count() < 150, "{}", e[0].1);
    }

    fn arb_address() -> impl Strategy<Value = Address> {
        let s = || any::<String>();
        let countryish = prop_oneof![
            Just("US".to_string()),
            Just("ca".to_string()),
            Just(" jp ".to_string()),
            Just("DE".to_string()),
            Just("GB".to_string()),
            any::<String>(),
        ];
        (
            (s(), s(), s(), s(), s(), s()),
            (s(), s(), s(), countryish, s(), s(), s()),
        )
            .prop_map(
                |(
                    (first_name, last_name, email, company, address1, address2),
                    (
                        city,
                        state_or_province,
                        state_or_province_code,
                        country_code,
                        country,
                        postal_code,
                        phone,
                    ),
                )| Address {
                    first_name,
                    last_name,
                    email,
                    company,
                    address1,
                    address2,
                    city,
                    state_or_province,
                    state_or_province_code,
                    country_code,
                    country,
                    postal_code,
                    phone,
                    custom_fields: vec![],
                    should_save: false,
                },
            )
    }

    /// Addresses that should mostly pass: real countries, states in every accepted
    /// form, postal codes in loose forms, random padding and case.
    fn plausible_address() -> impl Strategy<Value = Address> {
        let location = prop_oneof![
            (
                Just("US"),
                prop::sample::select(countries::subdivisions("US")),
                Just("941031234")
            ),
            (
                Just("CA"),
                prop::sample::select(countries::subdivisions("CA")),
                Just("k1a0b1")
            ),
            (
                Just("JP"),
                prop::sample::select(countries::subdivisions("JP")),
                Just("1000001")
            ),
            (
                Just("IN"),
                prop::sample::select(countries::subdivisions("IN")),
                Just("110 001")
            ),
            (
                Just("MX"),
                prop::sample::select(countries::subdivisions("MX")),
                Just("64000")
            ),
            (
                Just("BR"),
                prop::sample::select(countries::subdivisions("BR")),
                Just("01310100")
            ),
            (
                Just("AU"),
                prop::sample::select(countries::subdivisions("AU")),
                Just("2000")
            ),
            (
                Just("DE"),
                prop::sample::select(countries::subdivisions("DE")),
                Just("10115")
            ),
        ];
        (
            location,
            0..4usize,
            any::<bool>(),
            "[ \t]{0,2}",
            "[A-Za-z .'-]{0,40}",
            prop::sample::select(vec![
                "",
                "+1 (415) 555-0123",
                "+44 20 7946 0958",
                "4155550123x12",
            ]),
        )
            .prop_map(
                |((country, (code, name), postal), form, upper, pad, text, phone)| {
                    let (state_code, state_name) = match form {
                        0 => (code.to_string(), String::new()),
                        1 => (String::new(), name.to_string()),
                        2 => (format!("{country}-{code}"), name.to_string()),
                        _ => (code.to_lowercase(), name.to_uppercase()),
                    };
                    let country_code = if upper {
                        country.to_string()
                    } else {
                        country.to_lowercase()
                    };
                    Address {
                        first_name: format!("{pad}{text}{pad}"),
                        last_name: text.clone(),
                        email: format!("{pad}shopper@example.com"),
                        company: text.clone(),
                        address1: format!("1 {text}"),
                        address2: String::new(),
                        city: text,
                        state_or_province: state_name,
                        state_or_province_code: state_code,
                        country_code: format!("{pad}{country_code}"),
                        country: String::new(),
                        postal_code: format!("{postal}{pad}"),
                        phone: phone.to_string(),
                        custom_fields: vec![CustomField {
                            field_id: format!("{pad}field_1"),
                            field_value: json!(format!("{pad}x")),
                        }],
                        should_save: false,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn never_panics_and_a_pass_is_a_fixed_point(a in arb_address(), shipping in any::<bool>()) {
            let purpose = if shipping { AddressPurpose::Shipping } else { AddressPurpose::Billing };
            match normalize_and_validate(a, purpose, "x.") {
                Ok(once) => {
                    let twice = normalize_and_validate(once.clone(), purpose, "x.");
                    prop_assert_eq!(twice, Ok(once));
                }
                Err(DomainError::Unprocessable { title, errors }) => {
                    prop_assert!(!errors.is_empty());
                    prop_assert_eq!(&title, &errors[0].1);
                    prop_assert!(errors.iter().all(|(f, _)| f.starts_with("x.")));
                }
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }

        #[test]
        fn one_odd_field_never_breaks_idempotence(
            a in plausible_address(),
            which in 0..8usize,
            odd in prop_oneof![any::<String>(), "[ a-zA-Z0-9().+x-]{0,20}"],
            shipping in any::<bool>(),
        ) {
            let purpose = if shipping { AddressPurpose::Shipping } else { AddressPurpose::Billing };
            let mut a = a;
            match which {
                0 => a.first_name = odd,
                1 => a.city = odd,
                2 => a.state_or_province = odd,
                3 => a.state_or_province_code = odd,
                4 => a.postal_code = odd,
                5 => a.phone = odd,
                6 => a.country_code = odd,
                _ => a.email = odd,
            }
            if let Ok(once) = normalize_and_validate(a, purpose, "") {
                let twice = normalize_and_validate(once.clone(), purpose, "");
                prop_assert_eq!(twice, Ok(once));
            }
        }

        #[test]
        fn plausible_addresses_pass_and_stay_valid(a in plausible_address(), shipping in any::<bool>()) {
            let purpose = if shipping { AddressPurpose::Shipping } else { AddressPurpose::Billing };
            let once = normalize_and_validate(a.clone(), purpose, "");
            prop_assert!(once.is_ok(), "{:?} -> {:?}", a, once);
            let once = once.unwrap_or_default();
            let canonical = Some((once.state_or_province_code.as_str(), once.state_or_province.as_str()));
            prop_assert_eq!(countries::subdivision(&once.country_code, &once.state_or_province_code), canonical);
            prop_assert_eq!(countries::subdivision(&once.country_code, &once.state_or_province), canonical);
            let twice = normalize_and_validate(once.clone(), purpose, "");
            prop_assert_eq!(twice, Ok(once));
        }
    }
}
