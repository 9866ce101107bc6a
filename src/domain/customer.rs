//! Customers (BigCommerce's Customers V3 `/customers`): the record checkout attaches to
//! an order, with the store credit it may spend.
//!
//! # Rules
//!
//! - `email`: required on create; 3–250 characters, a plausible address; unique per
//!   store compared **case-insensitively** (the `email_key` column holds it lower-cased;
//!   the database's unique index is the guard).
//! - `first_name`, `last_name`: required on create, 1–100 characters.
//! - `company`, `tax_exempt_category`: at most 255 characters; `phone` at most 50.
//! - `customer_group_id`: ≥ 0 (0 = no group).
//! - `store_credit_amounts`: a list of `{amount}`; Kassa keeps one balance, their sum.
//!   Every amount ≥ 0, at most 4 decimal places, the sum at most [`MAX_STORE_CREDIT`].
//!   Sent on an update, it replaces the balance.
//! - `channel_ids`: `null`/absent = every channel (global access); otherwise a non-empty
//!   list of positive channel ids. `origin_channel_id`: positive, default 1, fixed once
//!   created (the spec calls it immutable).
//! - `registration_ip_address` is blank for customers created through the API (the spec
//!   says so) and read-only, as are `id`, `date_created` and `date_modified`.

use super::DomainError;
use super::cart::is_plausible_email;
use super::money::Money;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The most customers one POST or PUT may carry (the spec's limit).
pub const MAX_BATCH: usize = 10;
pub const EMAIL_MIN_CHARS: usize = 3;
pub const EMAIL_MAX_CHARS: usize = 250;
pub const NAME_MAX_CHARS: usize = 100;
pub const COMPANY_MAX_CHARS: usize = 255;
pub const PHONE_MAX_CHARS: usize = 50;
pub const TAX_EXEMPT_MAX_CHARS: usize = 255;
pub const NOTES_MAX_CHARS: usize = 65_535;
/// Kassa's ceiling for one customer's store credit (a typo guard; it also keeps the
/// balance well inside the stored ten-thousandths).
pub const MAX_STORE_CREDIT: i64 = 1_000_000_000;

/// A stored customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: i64,
    /// As entered (trimmed); compare with [`email_key`].
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub phone: String,
    pub notes: String,
    /// 0 = no group.
    pub customer_group_id: i64,
    pub tax_exempt_category: String,
    /// In the store's default currency.
    pub store_credit: Money,
    /// Unix seconds.
    pub date_created: i64,
    /// Unix seconds.
    pub date_modified: i64,
    pub registration_ip_address: String,
    pub accepts_product_review_abandoned_cart_emails: bool,
    /// `None` = global access (every channel).
    pub channel_ids: Option<Vec<i64>>,
    pub origin_channel_id: i64,
    /// `authentication.force_password_reset`.
    pub force_password_reset: bool,
}

impl Customer {
    /// `first last`, as `name:in` and `name:like` see it.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// Whether the customer may shop in this channel.
    pub fn can_use_channel(&self, channel_id: i64) -> bool {
        self.channel_ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&channel_id))
    }
}

/// The form emails are compared (and indexed) in: trimmed, lower case.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A customer to create, or (PUT) the fields of one to change.
#[derive(Clone, Debug, Default)]
pub struct CustomerInput {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub notes: Option<String>,
    pub customer_group_id: Option<i64>,
    pub tax_exempt_category: Option<String>,
    /// Each entry's `amount` (`None` = an entry without one). Replaces the balance.
    pub store_credit_amounts: Option<Vec<Option<Decimal>>>,
    pub accepts_product_review_abandoned_cart_emails: Option<bool>,
    /// `Some(None)` = sent as `null`: global access.
    pub channel_ids: Option<Option<Vec<i64>>>,
    /// Taken on create only.
    pub origin_channel_id: Option<i64>,
    pub force_password_reset: Option<bool>,
    /// `authentication.new_password`: the password the customer signs in with (checked
    /// by [`super::password::validate_new_password`], stored only hashed).
    pub new_password: Option<String>,
}

fn required(field: &str) -> DomainError {
    DomainError::field(field, format!("The field `{field}` is required."))
}

fn bounded(field: &str, s: &str, min: usize, max: usize) -> Result<String, DomainError> {
    let t = s.trim();
    let n = t.chars().count();
    if n < min || n > max {
        let msg = if min == 0 {
            format!("The field `{field}` must be at most {max} characters.")
        } else if n == 0 {
            format!("The field `{field}` must not be empty.")
        } else {
            format!("The field `{field}` must be {min} to {max} characters.")
        };
        return Err(DomainError::field(field, msg));
    }
    Ok(t.to_string())
}

pub fn validate_email(email: &str) -> Result<String, DomainError> {
    let e = bounded("email", email, EMAIL_MIN_CHARS, EMAIL_MAX_CHARS)?;
    if !is_plausible_email(&e) {
        return Err(DomainError::field(
            "email",
            format!(
                "The field `email` must be an email address such as `jane@example.com`, not `{e}`."
            ),
        ));
    }
    Ok(e)
}

/// The balance a `store_credit_amounts` list stands for: the sum of its amounts.
pub fn store_credit_from(amounts: &[Option<Decimal>]) -> Result<Money, DomainError> {
    let mut total = Money::ZERO;
    for (i, a) in amounts.iter().enumerate() {
        let field = format!("store_credit_amounts[{i}].amount");
        let a = a.ok_or_else(|| required(&field))?;
        if a.is_sign_negative() && !a.is_zero() {
            return Err(DomainError::field(
                &field,
                format!("The field `{field}` must not be negative."),
            ));
        }
        if a.normalize().scale() > 4 {
            return Err(DomainError::field(
                &field,
                format!("The field `{field}` has more than 4 decimal places."),
            ));
        }
        total += Money::new(a.normalize());
        if total > Money::new(Decimal::from(MAX_STORE_CREDIT)) {
            return Err(DomainError::field(
                &field,
                format!("Store credit is limited to {MAX_STORE_CREDIT} in total."),
            ));
        }
    }
    Ok(Money::new(total.amount().normalize()))
}

fn channel_ids_from(ids: &[i64]) -> Result<Vec<i64>, DomainError> {
    if ids.is_empty() {
        return Err(DomainError::field(
            "channel_ids",
            "The field `channel_ids` must list at least one channel; send null for access to every channel.",
        ));
    }
    let mut out: Vec<i64> = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        if *id <= 0 {
            return Err(DomainError::field(
                format!("channel_ids[{i}]"),
                format!("The field `channel_ids[{i}]` must be a positive channel id, not {id}."),
            ));
        }
        if !out.contains(id) {
            out.push(*id);
        }
    }
    Ok(out)
}

/// Builds the customer a create (`existing` = `None`) or an update asks for, checking
/// every rule but email uniqueness (the database's unique index does that).
pub fn build_customer(
    existing: Option<&Customer>,
    id: i64,
    input: &CustomerInput,
    now: i64,
) -> Result<Customer, DomainError> {
    let email = match (&input.email, existing) {
        (Some(e), _) => validate_email(e)?,
        (None, Some(c)) => c.email.clone(),
        (None, None) => return Err(required("email")),
    };
    let name = |field: &str, sent: &Option<String>, kept: Option<&String>| match (sent, kept) {
        (Some(s), _) => bounded(field, s, 1, NAME_MAX_CHARS),
        (None, Some(k)) => Ok(k.clone()),
        (None, None) => Err(required(field)),
    };
    let first_name = name(
        "first_name",
        &input.first_name,
        existing.map(|c| &c.first_name),
    )?;
    let last_name = name(
        "last_name",
        &input.last_name,
        existing.map(|c| &c.last_name),
    )?;
    let optional = |field: &str, sent: &Option<String>, kept: Option<&String>, max: usize| match (
        sent, kept,
    ) {
        (Some(s), _) => bounded(field, s, 0, max),
        (None, Some(k)) => Ok(k.clone()),
        (None, None) => Ok(String::new()),
    };
    let company = optional(
        "company",
        &input.company,
        existing.map(|c| &c.company),
        COMPANY_MAX_CHARS,
    )?;
    let phone = optional(
        "phone",
        &input.phone,
        existing.map(|c| &c.phone),
        PHONE_MAX_CHARS,
    )?;
    let tax_exempt_category = optional(
        "tax_exempt_category",
        &input.tax_exempt_category,
        existing.map(|c| &c.tax_exempt_category),
        TAX_EXEMPT_MAX_CHARS,
    )?;
    let notes = match (&input.notes, existing) {
        (Some(n), _) if n.chars().count() > NOTES_MAX_CHARS => {
            return Err(DomainError::field(
                "notes",
                format!("The field `notes` must be at most {NOTES_MAX_CHARS} characters."),
            ));
        }
        (Some(n), _) => n.clone(),
        (None, Some(c)) => c.notes.clone(),
        (None, None) => String::new(),
    };
    let customer_group_id = match (input.customer_group_id, existing) {
        (Some(g), _) if g < 0 => {
            return Err(DomainError::field(
                "customer_group_id",
                "The field `customer_group_id` must not be negative (0 = no group).",
            ));
        }
        (Some(g), _) => g,
        (None, Some(c)) => c.customer_group_id,
        (None, None) => 0,
    };
    let store_credit = match (&input.store_credit_amounts, existing) {
        (Some(list), _) => store_credit_from(list)?,
        (None, Some(c)) => c.store_credit,
        (None, None) => Money::ZERO,
    };
    let channel_ids = match (&input.channel_ids, existing) {
        (Some(Some(ids)), _) => Some(channel_ids_from(ids)?),
        (Some(None), _) => None,
        (None, Some(c)) => c.channel_ids.clone(),
        (None, None) => None,
    };
    let origin_channel_id = match (input.origin_channel_id, existing) {
        // Immutable once created: an update's value is ignored.
        (_, Some(c)) => c.origin_channel_id,
        (Some(o), None) if o <= 0 => {
            return Err(DomainError::field(
                "origin_channel_id",
                "The field `origin_channel_id` must be a positive channel id.",
            ));
        }
        (Some(o), None) => o,
        (None, None) => 1,
    };
    Ok(Customer {
        id,
        email,
        first_name,
        last_name,
        company,
        phone,
        notes,
        customer_group_id,
        tax_exempt_category,
        store_credit,
        date_created: existing.map(|c| c.date_created).unwrap_or(now),
        date_modified: now,
        registration_ip_address: existing
            .map(|c| c.registration_ip_address.clone())
            .unwrap_or_default(),
        accepts_product_review_abandoned_cart_emails: input
            .accepts_product_review_abandoned_cart_emails
            .or(existing.map(|c| c.accepts_product_review_abandoned_cart_emails))
            .unwrap_or(false),
        channel_ids,
        origin_channel_id,
        force_password_reset: input
            .force_password_reset
            .or(existing.map(|c| c.force_password_reset))
            .unwrap_or(false),
    })
}

/// Names a batch entry's fields: `email` of the third item becomes `[2].email`.
pub fn in_batch(e: DomainError, index: usize) -> DomainError {
    entry_of_batch(e, "Customer", index)
}

/// Names the fields of entry `index` of a batch of `kind`s (`Customer [2]: …`, `[2].email`).
pub fn entry_of_batch(e: DomainError, kind: &str, index: usize) -> DomainError {
    match e {
        DomainError::Unprocessable { title, errors } => DomainError::Unprocessable {
            title: format!("{kind} [{index}]: {title}"),
            errors: errors
                .into_iter()
                .map(|(f, m)| (format!("[{index}].{f}"), m))
                .collect(),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn input() -> CustomerInput {
        CustomerInput {
            email: Some(" Jane@Example.com ".into()),
            first_name: Some("Jane".into()),
            last_name: Some("Doe".into()),
            ..Default::default()
        }
    }

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::Unprocessable { errors, .. } => errors[0].0.clone(),
            other => panic!("not a field error: {other:?}"),
        }
    }

    fn err_field(i: &CustomerInput) -> String {
        field_of(build_customer(None, 1, i, 100).unwrap_err())
    }

    #[test]
    fn builds_with_defaults() {
        let c = build_customer(None, 4, &input(), 100).unwrap();
        assert_eq!(c.id, 4);
        assert_eq!(c.email, "Jane@Example.com");
        assert_eq!(email_key(&c.email), "jane@example.com");
        assert_eq!(c.full_name(), "Jane Doe");
        assert_eq!(c.store_credit, Money::ZERO);
        assert_eq!((c.date_created, c.date_modified), (100, 100));
        assert_eq!(c.origin_channel_id, 1);
        assert_eq!(c.channel_ids, None);
        assert!(c.can_use_channel(7));
        assert_eq!(c.registration_ip_address, "");
        assert!(!c.force_password_reset);
    }

    #[test]
    fn required_and_bounded_fields() {
        for (f, clear) in [
            (
                "email",
                (|i: &mut CustomerInput| i.email = None) as fn(&mut CustomerInput),
            ),
            ("first_name", |i| i.first_name = None),
            ("last_name", |i| i.last_name = None),
            ("first_name", |i| i.first_name = Some(" ".into())),
            ("last_name", |i| i.last_name = Some("x".repeat(101))),
            ("email", |i| i.email = Some("not-an-email".into())),
            ("email", |i| i.email = Some("a@b".into())),
            ("email", |i| {
                i.email = Some(format!("{}@example.com", "a".repeat(240)))
            }),
            ("company", |i| i.company = Some("c".repeat(256))),
            ("phone", |i| i.phone = Some("1".repeat(51))),
            ("tax_exempt_category", |i| {
                i.tax_exempt_category = Some("t".repeat(256))
            }),
            ("customer_group_id", |i| i.customer_group_id = Some(-1)),
            ("channel_ids", |i| i.channel_ids = Some(Some(vec![]))),
            ("channel_ids[1]", |i| i.channel_ids = Some(Some(vec![1, 0]))),
            ("origin_channel_id", |i| i.origin_channel_id = Some(0)),
        ] {
            let mut i = input();
            clear(&mut i);
            assert_eq!(err_field(&i), f);
        }
    }

    #[test]
    fn store_credit_is_the_sum() {
        assert_eq!(
            store_credit_from(&[Some(d("43.15")), Some(d("6.85"))]).unwrap(),
            Money::new(d("50"))
        );
        assert_eq!(store_credit_from(&[]).unwrap(), Money::ZERO);
        assert_eq!(
            field_of(store_credit_from(&[Some(d("1")), Some(d("-0.01"))]).unwrap_err()),
            "store_credit_amounts[1].amount"
        );
        assert_eq!(
            field_of(store_credit_from(&[None]).unwrap_err()),
            "store_credit_amounts[0].amount"
        );
        assert_eq!(
            field_of(store_credit_from(&[Some(d("0.00001"))]).unwrap_err()),
            "store_credit_amounts[0].amount"
        );
        assert!(store_credit_from(&[Some(d("0.12340"))]).is_ok());
        assert!(
            store_credit_from(&[Some(Decimal::from(MAX_STORE_CREDIT)), Some(d("0.01"))]).is_err()
        );
        let mut i = input();
        i.store_credit_amounts = Some(vec![Some(d("25.00"))]);
        let c = build_customer(None, 1, &i, 0).unwrap();
        assert_eq!(c.store_credit, Money::new(d("25")));
        assert_eq!(c.store_credit.to_e4(), 250_000);
    }

    #[test]
    fn updates_keep_what_is_not_sent() {
        let mut i = input();
        i.store_credit_amounts = Some(vec![Some(d("10"))]);
        i.channel_ids = Some(Some(vec![2, 2, 3]));
        i.origin_channel_id = Some(2);
        let c = build_customer(None, 1, &i, 50).unwrap();
        assert_eq!(c.channel_ids, Some(vec![2, 3]));
        assert!(!c.can_use_channel(1));
        let u = build_customer(
            Some(&c),
            1,
            &CustomerInput {
                last_name: Some("Smith".into()),
                origin_channel_id: Some(9),
                ..Default::default()
            },
            80,
        )
        .unwrap();
        assert_eq!(u.last_name, "Smith");
        assert_eq!(u.email, c.email);
        assert_eq!(u.store_credit, Money::new(d("10")));
        assert_eq!(u.origin_channel_id, 2, "origin_channel_id is immutable");
        assert_eq!((u.date_created, u.date_modified), (50, 80));
        let u = build_customer(
            Some(&c),
            1,
            &CustomerInput {
                channel_ids: Some(None),
                store_credit_amounts: Some(vec![]),
                ..Default::default()
            },
            80,
        )
        .unwrap();
        assert_eq!(u.channel_ids, None);
        assert_eq!(u.store_credit, Money::ZERO);
    }

    #[test]
    fn batch_errors_name_the_entry() {
        let e = in_batch(DomainError::field("email", "bad"), 3);
        assert_eq!(field_of(e.clone()), "[3].email");
        assert!(e.to_string().starts_with("Customer [3]"));
    }
}
