//! Gift certificates (BigCommerce's Marketing V2 `/gift_certificates`): stored value a
//! shopper redeems by code. This module holds the record, the rules a create or an
//! update must satisfy, and the one question checkout asks: can this code pay now?
//!
//! # Rules
//!
//! - `code`: optional on create; when left out (or sent as `""`) a code of the form
//!   `ABC-DEF-GHJ-KLM` is generated from an alphabet without look-alike characters. A code
//!   that is sent may be up to 255 characters (as the spec allows) and is then cut to its
//!   first 20, which is what BigCommerce stores and answers with. Leading and trailing
//!   spaces are dropped; control characters are refused. Codes are unique per store
//!   compared **case-insensitively** (the `code_key` column holds the lower-cased code).
//! - `amount`: required on create; more than 0, at most [`MAX_AMOUNT`] of the store's
//!   default currency (converted into the certificate's currency), and no finer than the
//!   currency's decimal places.
//! - `balance`: 0 ≤ balance ≤ amount, same precision rule; defaults to the amount. On an
//!   update that changes the amount but not the balance, an untouched certificate
//!   (balance = amount) follows the new amount; a partly spent one keeps its balance,
//!   which must still fit.
//! - `status`: `active` (default), `pending`, `disabled` or `expired`.
//! - `currency_code`: one of the store's currencies; defaults to its default currency.
//! - `to_name`, `from_name`: required on create, 1–255 characters. `to_email`,
//!   `from_email`: required on create, a plausible address.
//! - `template`: one of [`TEMPLATES`]; defaults to `general.html`. `message`: at most
//!   250 characters.
//! - `purchase_date`: RFC 2822 (`Mon, 19 Jan 1970 07:21:46 CST`) or Unix seconds;
//!   defaults to now. `expiry_date`: the same, or `""`/`0` for none. A certificate is
//!   expired from that instant on, whatever its status says.
//! - `customer_id`: ≥ 0 (0 = none). `order_id` and `id` are read-only.

use super::DomainError;
use super::cart::is_plausible_email;
use super::money::{Currency, Money};
use super::settings::StoreSettings;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// Codes are kept to this many characters (longer ones are cut, as the spec says).
pub const CODE_MAX_CHARS: usize = 20;
/// The longest code a request may send.
pub const CODE_MAX_INPUT_CHARS: usize = 255;
pub const NAME_MAX_CHARS: usize = 255;
pub const MESSAGE_MAX_CHARS: usize = 250;
/// Kassa's ceiling for one certificate, in the store's default currency: a typo guard
/// (BigCommerce's own limits are a store setting Kassa does not have).
pub const MAX_AMOUNT: i64 = 100_000;
/// The email themes the spec lists.
pub const TEMPLATES: [&str; 6] = [
    "birthday.html",
    "boy.html",
    "girl.html",
    "celebration.html",
    "christmas.html",
    "general.html",
];
pub const DEFAULT_TEMPLATE: &str = "general.html";
/// Characters generated codes use: no `0`/`O`, `1`/`I` a shopper could confuse.
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GiftCertificateStatus {
    Active,
    Pending,
    Disabled,
    Expired,
}

impl GiftCertificateStatus {
    pub const ALL: [GiftCertificateStatus; 4] = [
        GiftCertificateStatus::Active,
        GiftCertificateStatus::Pending,
        GiftCertificateStatus::Disabled,
        GiftCertificateStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GiftCertificateStatus::Active => "active",
            GiftCertificateStatus::Pending => "pending",
            GiftCertificateStatus::Disabled => "disabled",
            GiftCertificateStatus::Expired => "expired",
        }
    }

    /// The spec's name, any case.
    pub fn parse(s: &str) -> Option<GiftCertificateStatus> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }
}

/// A stored gift certificate. Money is in `currency_code`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GiftCertificate {
    pub id: i64,
    /// As entered (trimmed, at most 20 characters); compare with [`code_key`].
    pub code: String,
    pub amount: Money,
    pub balance: Money,
    pub status: GiftCertificateStatus,
    /// ISO 4217, upper case.
    pub currency_code: String,
    /// 0 = not tied to a customer.
    pub customer_id: i64,
    /// The order that bought it; 0 = created by the admin API.
    pub order_id: i64,
    /// Unix seconds.
    pub purchase_date: i64,
    /// Unix seconds; `None` = never expires.
    pub expiry_date: Option<i64>,
    pub to_name: String,
    pub to_email: String,
    pub from_name: String,
    pub from_email: String,
    pub template: String,
    pub message: String,
}

impl GiftCertificate {
    pub fn is_expired(&self, now: i64) -> bool {
        self.status == GiftCertificateStatus::Expired || self.expiry_date.is_some_and(|e| now >= e)
    }

    /// Whether the certificate can pay for something now; if not, why (a 422 on `code`).
    /// Currency is the caller's question: see [`GiftCertificate::is_in_currency`].
    pub fn redeemable(&self, now: i64) -> Result<(), DomainError> {
        let why = match self.status {
            GiftCertificateStatus::Disabled => Some("has been disabled".to_string()),
            GiftCertificateStatus::Pending => Some("is not active yet".to_string()),
            GiftCertificateStatus::Expired => Some("has expired".to_string()),
            GiftCertificateStatus::Active => None,
        }
        .or_else(|| {
            self.expiry_date
                .filter(|e| now >= *e)
                .map(|e| format!("expired on {}", rfc2822(e)))
        })
        .or_else(|| (self.balance <= Money::ZERO).then(|| "has no balance left".to_string()));
        match why {
            None => Ok(()),
            Some(why) => Err(DomainError::field(
                "code",
                format!("The gift certificate `{}` {why}.", self.code),
            )),
        }
    }

    /// Certificates pay only in their own currency.
    pub fn is_in_currency(&self, code: &str) -> bool {
        self.currency_code.eq_ignore_ascii_case(code.trim())
    }

    pub fn has_code(&self, code: &str) -> bool {
        code_key(&self.code) == code_key(code)
    }
}

/// The form codes are compared (and indexed) in: trimmed, lower case.
pub fn code_key(code: &str) -> String {
    code.trim().to_lowercase()
}

/// A code like `FFZ-5N4-C7M-S78` from 12 random bytes.
pub fn generate_code(random: &[u8; 12]) -> String {
    let mut out = String::with_capacity(15);
    for (i, b) in random.iter().enumerate() {
        if i > 0 && i % 3 == 0 {
            out.push('-');
        }
        // 256 is a multiple of 32, so every character is equally likely.
        out.push(char::from(
            CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()],
        ));
    }
    out
}

/// A date as V2 writes it: RFC 2822 in UTC (`Tue, 13 Mar 2018 16:18:59 +0000`).
pub fn rfc2822(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc2822).ok())
        .unwrap_or_default()
}

/// An RFC 2822 date (any offset or zone name the RFC allows) or Unix seconds.
/// Blank, `0` = `None`.
pub fn parse_date(field: &str, s: &str) -> Result<Option<i64>, DomainError> {
    let s = s.trim();
    if s.is_empty() || s == "0" {
        return Ok(None);
    }
    if let Ok(secs) = s.parse::<i64>() {
        // Anything `time` can represent; beyond that the date is nonsense.
        if OffsetDateTime::from_unix_timestamp(secs).is_ok() && secs > 0 {
            return Ok(Some(secs));
        }
    } else if let Ok(t) = OffsetDateTime::parse(s, &Rfc2822) {
        return Ok(Some(t.unix_timestamp()));
    }
    Err(DomainError::field(
        field,
        format!(
            "The field `{field}` must be an RFC 2822 date such as `Tue, 13 Mar 2018 16:18:59 +0000` (or Unix seconds), not `{s}`."
        ),
    ))
}

/// A gift certificate to create, or (PUT) the fields of one to change. Dates are as
/// sent (see [`parse_date`]).
#[derive(Clone, Debug, Default)]
pub struct GiftCertificateInput {
    pub code: Option<String>,
    pub amount: Option<Decimal>,
    pub balance: Option<Decimal>,
    pub status: Option<String>,
    pub currency_code: Option<String>,
    pub customer_id: Option<i64>,
    pub purchase_date: Option<String>,
    /// `Some("")` clears the expiry.
    pub expiry_date: Option<String>,
    pub to_name: Option<String>,
    pub to_email: Option<String>,
    pub from_name: Option<String>,
    pub from_email: Option<String>,
    pub template: Option<String>,
    pub message: Option<String>,
}

fn required(field: &str) -> DomainError {
    DomainError::field(field, format!("The field `{field}` is required."))
}

/// A code as it will be stored, or `None` for "generate one".
pub fn validate_code(code: &str) -> Result<Option<String>, DomainError> {
    let c = code.trim();
    if c.is_empty() {
        return Ok(None);
    }
    if c.chars().count() > CODE_MAX_INPUT_CHARS {
        return Err(DomainError::field(
            "code",
            format!("The field `code` must be at most {CODE_MAX_INPUT_CHARS} characters."),
        ));
    }
    if c.chars().any(char::is_control) {
        return Err(DomainError::field(
            "code",
            "The field `code` must not contain control characters.",
        ));
    }
    let cut: String = c.chars().take(CODE_MAX_CHARS).collect();
    Ok(Some(cut.trim_end().to_string()))
}

fn validate_name(field: &str, s: &str) -> Result<String, DomainError> {
    let n = s.trim();
    if n.is_empty() {
        return Err(DomainError::field(
            field,
            format!("The field `{field}` must not be empty."),
        ));
    }
    if n.chars().count() > NAME_MAX_CHARS {
        return Err(DomainError::field(
            field,
            format!("The field `{field}` must be at most {NAME_MAX_CHARS} characters."),
        ));
    }
    Ok(n.to_string())
}

fn validate_email(field: &str, s: &str) -> Result<String, DomainError> {
    let e = s.trim();
    if !is_plausible_email(e) {
        return Err(DomainError::field(
            field,
            format!(
                "The field `{field}` must be an email address such as `sam@example.com`, not `{e}`."
            ),
        ));
    }
    Ok(e.to_string())
}

fn validate_template(s: &str) -> Result<String, DomainError> {
    let t = s.trim().to_ascii_lowercase();
    if TEMPLATES.contains(&t.as_str()) {
        Ok(t)
    } else {
        Err(DomainError::field(
            "template",
            format!(
                "The field `template` must be one of {}.",
                TEMPLATES.join(", ")
            ),
        ))
    }
}

/// Money in `currency`: not finer than its decimal places.
fn check_precision(field: &str, m: Money, currency: &Currency) -> Result<(), DomainError> {
    if currency.round(m) != m {
        return Err(DomainError::field(
            field,
            format!(
                "The field `{field}` has more decimal places than {} allows ({}).",
                currency.code, currency.decimal_places
            ),
        ));
    }
    Ok(())
}

/// Builds the certificate a create (`existing` = `None`) or an update asks for, checking
/// every rule but code uniqueness (the database's unique index does that).
/// `fresh_code` is used when a create sends no code.
pub fn build_gift_certificate(
    existing: Option<&GiftCertificate>,
    id: i64,
    input: &GiftCertificateInput,
    settings: &StoreSettings,
    fresh_code: &str,
    now: i64,
) -> Result<GiftCertificate, DomainError> {
    let code = match (&input.code, existing) {
        (Some(c), Some(_)) => validate_code(c)?
            .ok_or_else(|| DomainError::field("code", "The field `code` must not be empty."))?,
        (Some(c), None) => validate_code(c)?.unwrap_or_else(|| fresh_code.to_string()),
        (None, Some(g)) => g.code.clone(),
        (None, None) => fresh_code.to_string(),
    };
    let currency = match (&input.currency_code, existing) {
        (Some(c), _) => settings.currency(c).ok_or_else(|| {
            DomainError::field(
                "currency_code",
                format!(
                    "The field `currency_code` must be one of the store's currencies ({}), not `{}`.",
                    settings
                        .currencies
                        .iter()
                        .map(|c| c.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    c.trim()
                ),
            )
        })?,
        (None, Some(g)) => settings
            .currency(&g.currency_code)
            .unwrap_or_else(|| Currency::new(&g.currency_code, 2, Decimal::ONE)),
        (None, None) => settings.default_currency(),
    };
    let amount = match (input.amount, existing) {
        (Some(a), _) => Money::new(a.normalize()),
        (None, Some(g)) => g.amount,
        (None, None) => return Err(required("amount")),
    };
    let max = currency.convert(Money::new(Decimal::from(MAX_AMOUNT)));
    if amount <= Money::ZERO || amount > max {
        return Err(DomainError::field(
            "amount",
            format!(
                "The field `amount` must be more than 0 and at most {max} {}.",
                currency.code
            ),
        ));
    }
    check_precision("amount", amount, &currency)?;
    let balance = match (input.balance, existing) {
        (Some(b), _) => Money::new(b.normalize()),
        // An untouched certificate follows a new amount; a spent one keeps its balance.
        (None, Some(g)) if g.balance == g.amount => amount,
        (None, Some(g)) => g.balance,
        (None, None) => amount,
    };
    if balance.is_negative() || balance > amount {
        return Err(DomainError::field(
            "balance",
            format!("The field `balance` must be between 0 and the amount ({amount})."),
        ));
    }
    check_precision("balance", balance, &currency)?;
    let status = match (&input.status, existing) {
        (Some(s), _) => GiftCertificateStatus::parse(s).ok_or_else(|| {
            DomainError::field(
                "status",
                "The field `status` must be one of active, pending, disabled, expired.",
            )
        })?,
        (None, Some(g)) => g.status,
        (None, None) => GiftCertificateStatus::Active,
    };
    let customer_id = match (input.customer_id, existing) {
        (Some(c), _) if c < 0 => {
            return Err(DomainError::field(
                "customer_id",
                "The field `customer_id` must not be negative (0 = no customer).",
            ));
        }
        (Some(c), _) => c,
        (None, Some(g)) => g.customer_id,
        (None, None) => 0,
    };
    let purchase_date = match (&input.purchase_date, existing) {
        (Some(d), _) => parse_date("purchase_date", d)?.unwrap_or(now),
        (None, Some(g)) => g.purchase_date,
        (None, None) => now,
    };
    let expiry_date = match (&input.expiry_date, existing) {
        (Some(d), _) => parse_date("expiry_date", d)?,
        (None, Some(g)) => g.expiry_date,
        (None, None) => None,
    };
    let text = |field: &str,
                sent: &Option<String>,
                kept: Option<&String>,
                check: &dyn Fn(&str, &str) -> Result<String, DomainError>|
     -> Result<String, DomainError> {
        match (sent, kept) {
            (Some(s), _) => check(field, s),
            (None, Some(k)) => Ok(k.clone()),
            (None, None) => Err(required(field)),
        }
    };
    let to_name = text(
        "to_name",
        &input.to_name,
        existing.map(|g| &g.to_name),
        &validate_name,
    )?;
    let to_email = text(
        "to_email",
        &input.to_email,
        existing.map(|g| &g.to_email),
        &validate_email,
    )?;
    let from_name = text(
        "from_name",
        &input.from_name,
        existing.map(|g| &g.from_name),
        &validate_name,
    )?;
    let from_email = text(
        "from_email",
        &input.from_email,
        existing.map(|g| &g.from_email),
        &validate_email,
    )?;
    let template = match (&input.template, existing) {
        (Some(t), _) => validate_template(t)?,
        (None, Some(g)) => g.template.clone(),
        (None, None) => DEFAULT_TEMPLATE.to_string(),
    };
    let message = match (&input.message, existing) {
        (Some(m), _) => {
            if m.chars().count() > MESSAGE_MAX_CHARS {
                return Err(DomainError::field(
                    "message",
                    format!("The field `message` must be at most {MESSAGE_MAX_CHARS} characters."),
                ));
            }
            m.clone()
        }
        (None, Some(g)) => g.message.clone(),
        (None, None) => String::new(),
    };
    Ok(GiftCertificate {
        id,
        code,
        amount,
        balance,
        status,
        currency_code: currency.code,
        customer_id,
        order_id: existing.map(|g| g.order_id).unwrap_or(0),
        purchase_date,
        expiry_date,
        to_name,
        to_email,
        from_name,
        from_email,
        template,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn settings() -> StoreSettings {
        StoreSettings {
            currencies: vec![
                Currency::new("USD", 2, Decimal::ONE),
                Currency::new("JPY", 0, Decimal::from(150)),
            ],
            ..StoreSettings::default()
        }
    }

    fn input() -> GiftCertificateInput {
        GiftCertificateInput {
            amount: Some(d("50")),
            to_name: Some("Sam".into()),
            to_email: Some("sam@example.com".into()),
            from_name: Some("Alex".into()),
            from_email: Some("alex@example.com".into()),
            ..Default::default()
        }
    }

    fn build(i: &GiftCertificateInput) -> Result<GiftCertificate, DomainError> {
        build_gift_certificate(None, 1, i, &settings(), "AAA-BBB-CCC-DDD", 1_000)
    }

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::Unprocessable { errors, .. } => errors[0].0.clone(),
            other => panic!("not a field error: {other:?}"),
        }
    }

    fn err_field(i: &GiftCertificateInput) -> String {
        field_of(build(i).unwrap_err())
    }

    #[test]
    fn builds_with_defaults() {
        let g = build(&input()).unwrap();
        assert_eq!(g.code, "AAA-BBB-CCC-DDD");
        assert_eq!(g.amount, Money::new(d("50")));
        assert_eq!(g.balance, g.amount);
        assert_eq!(g.status, GiftCertificateStatus::Active);
        assert_eq!(g.currency_code, "USD");
        assert_eq!(g.purchase_date, 1_000);
        assert_eq!(g.expiry_date, None);
        assert_eq!(g.template, "general.html");
        assert_eq!(g.message, "");
        assert_eq!((g.customer_id, g.order_id), (0, 0));
        assert!(g.redeemable(1_000).is_ok());
    }

    #[test]
    fn required_fields_are_named() {
        for (f, clear) in [
            (
                "amount",
                (|i: &mut GiftCertificateInput| i.amount = None) as fn(&mut GiftCertificateInput),
            ),
            ("to_name", |i| i.to_name = None),
            ("to_email", |i| i.to_email = None),
            ("from_name", |i| i.from_name = None),
            ("from_email", |i| i.from_email = None),
        ] {
            let mut i = input();
            clear(&mut i);
            assert_eq!(err_field(&i), f);
        }
    }

    #[test]
    fn amounts_and_balances() {
        let mut i = input();
        for bad in ["0", "-1", "100000.01", "1.001"] {
            i.amount = Some(d(bad));
            assert_eq!(err_field(&i), "amount", "{bad}");
        }
        i.amount = Some(d("100000"));
        assert!(build(&i).is_ok());
        i.amount = Some(d("20"));
        for bad in ["20.01", "-0.01", "1.005"] {
            i.balance = Some(d(bad));
            assert_eq!(err_field(&i), "balance", "{bad}");
        }
        i.balance = Some(d("0"));
        assert_eq!(build(&i).unwrap().balance, Money::ZERO);
        // JPY has no decimals; its ceiling is converted.
        i.balance = None;
        i.currency_code = Some("jpy".into());
        i.amount = Some(d("10.5"));
        assert_eq!(err_field(&i), "amount");
        i.amount = Some(d("15000000"));
        let g = build(&i).unwrap();
        assert_eq!(g.currency_code, "JPY");
        i.currency_code = Some("EUR".into());
        assert_eq!(err_field(&i), "currency_code");
    }

    #[test]
    fn codes() {
        assert_eq!(validate_code("  abc ").unwrap().as_deref(), Some("abc"));
        assert_eq!(validate_code("   ").unwrap(), None);
        let long = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        assert_eq!(
            validate_code(long).unwrap().as_deref(),
            Some("ABCDEFGHIJKLMNOPQRST")
        );
        assert_eq!(
            validate_code("ABCDEFGHIJKLMNOPQRS TUV").unwrap().as_deref(),
            Some("ABCDEFGHIJKLMNOPQRS")
        );
        assert_eq!(
            field_of(validate_code(&"x".repeat(256)).unwrap_err()),
            "code"
        );
        assert_eq!(field_of(validate_code("a\nb").unwrap_err()), "code");
        let mut i = input();
        i.code = Some("".into());
        assert_eq!(build(&i).unwrap().code, "AAA-BBB-CCC-DDD");
        i.code = Some("Gift-1".into());
        let g = build(&i).unwrap();
        assert!(g.has_code(" GIFT-1 "));
        assert_eq!(code_key("Gift-1"), "gift-1");
        // An update may not blank the code.
        let u = GiftCertificateInput {
            code: Some(" ".into()),
            ..Default::default()
        };
        let e = build_gift_certificate(Some(&g), 1, &u, &settings(), "X", 0).unwrap_err();
        assert_eq!(field_of(e), "code");
    }

    #[test]
    fn generated_codes_look_like_bigcommerce_ones() {
        let c = generate_code(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
        assert_eq!(c, "ABC-DEF-GHJ-KL9");
        let c = generate_code(&[31; 12]);
        assert_eq!(c.len(), 15);
        assert!(
            c.chars()
                .all(|ch| ch == '-' || CODE_ALPHABET.contains(&(ch as u8)))
        );
    }

    #[test]
    fn texts_and_templates() {
        let mut i = input();
        i.to_email = Some("nope".into());
        assert_eq!(err_field(&i), "to_email");
        i.to_email = Some("sam@example.com".into());
        i.from_name = Some("  ".into());
        assert_eq!(err_field(&i), "from_name");
        i.from_name = Some("N".repeat(256));
        assert_eq!(err_field(&i), "from_name");
        i.from_name = Some("Alex".into());
        i.template = Some("fancy.html".into());
        assert_eq!(err_field(&i), "template");
        i.template = Some("Birthday.HTML".into());
        assert_eq!(build(&i).unwrap().template, "birthday.html");
        i.message = Some("m".repeat(251));
        assert_eq!(err_field(&i), "message");
        i.message = Some("m".repeat(250));
        assert!(build(&i).is_ok());
        i.status = Some("gone".into());
        assert_eq!(err_field(&i), "status");
        i.status = Some("Pending".into());
        assert_eq!(build(&i).unwrap().status, GiftCertificateStatus::Pending);
        i.customer_id = Some(-1);
        assert_eq!(err_field(&i), "customer_id");
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("d", "Mon, 19 Jan 1970 07:21:46 CST").unwrap(),
            Some(1_603_306)
        );
        assert_eq!(
            parse_date("d", "Tue, 13 Mar 2018 16:18:59 +0000").unwrap(),
            Some(1_520_957_939)
        );
        assert_eq!(parse_date("d", "1603306").unwrap(), Some(1_603_306));
        assert_eq!(parse_date("d", "").unwrap(), None);
        assert_eq!(parse_date("d", "0").unwrap(), None);
        assert_eq!(field_of(parse_date("d", "2018-03-13").unwrap_err()), "d");
        assert_eq!(field_of(parse_date("d", "-5").unwrap_err()), "d");
        assert_eq!(rfc2822(1_520_957_939), "Tue, 13 Mar 2018 16:18:59 +0000");
        let mut i = input();
        i.expiry_date = Some("Tue, 13 Mar 2018 16:18:59 +0000".into());
        i.purchase_date = Some("1603306".into());
        let g = build(&i).unwrap();
        assert_eq!(g.purchase_date, 1_603_306);
        assert_eq!(g.expiry_date, Some(1_520_957_939));
        i.expiry_date = Some("soon".into());
        assert_eq!(err_field(&i), "expiry_date");
    }

    #[test]
    fn redeemable_says_why_not() {
        let mut g = build(&input()).unwrap();
        assert!(g.redeemable(0).is_ok());
        g.expiry_date = Some(500);
        assert!(g.redeemable(499).is_ok());
        let e = g.redeemable(500).unwrap_err();
        assert!(e.to_string().contains("expired on"), "{e}");
        assert!(g.is_expired(500));
        g.expiry_date = None;
        g.status = GiftCertificateStatus::Disabled;
        assert!(
            g.redeemable(0)
                .unwrap_err()
                .to_string()
                .contains("disabled")
        );
        g.status = GiftCertificateStatus::Pending;
        assert!(
            g.redeemable(0)
                .unwrap_err()
                .to_string()
                .contains("not active")
        );
        g.status = GiftCertificateStatus::Expired;
        assert!(g.redeemable(0).unwrap_err().to_string().contains("expired"));
        g.status = GiftCertificateStatus::Active;
        g.balance = Money::ZERO;
        let e = g.redeemable(0).unwrap_err();
        assert!(e.to_string().contains("no balance"), "{e}");
        assert_eq!(field_of(e), "code");
        assert!(g.is_in_currency("usd"));
        assert!(!g.is_in_currency("EUR"));
    }

    #[test]
    fn updates_keep_what_is_not_sent() {
        let g = build(&input()).unwrap();
        let change = |i: GiftCertificateInput, from: &GiftCertificate| {
            build_gift_certificate(Some(from), from.id, &i, &settings(), "NEW", 9_999)
        };
        // An untouched certificate follows a new amount…
        let u = change(
            GiftCertificateInput {
                amount: Some(d("40")),
                ..Default::default()
            },
            &g,
        )
        .unwrap();
        assert_eq!(
            (u.amount, u.balance),
            (Money::new(d("40")), Money::new(d("40")))
        );
        assert_eq!(u.code, g.code);
        assert_eq!(u.purchase_date, g.purchase_date);
        assert_eq!(u.to_email, g.to_email);
        // …a spent one keeps its balance, which must still fit.
        let spent = GiftCertificate {
            balance: Money::new(d("30")),
            ..g.clone()
        };
        let u = change(
            GiftCertificateInput {
                amount: Some(d("35")),
                ..Default::default()
            },
            &spent,
        )
        .unwrap();
        assert_eq!(u.balance, Money::new(d("30")));
        let e = change(
            GiftCertificateInput {
                amount: Some(d("25")),
                ..Default::default()
            },
            &spent,
        )
        .unwrap_err();
        assert_eq!(field_of(e), "balance");
        let u = change(
            GiftCertificateInput {
                expiry_date: Some("".into()),
                status: Some("disabled".into()),
                ..Default::default()
            },
            &GiftCertificate {
                expiry_date: Some(5),
                order_id: 77,
                ..g.clone()
            },
        )
        .unwrap();
        assert_eq!(u.expiry_date, None);
        assert_eq!(u.order_id, 77);
        assert_eq!(u.status, GiftCertificateStatus::Disabled);
    }
}
