//! Checkout settings (`checkouts.v3.yml`, tag Checkout Settings): the store-wide
//! custom checkout scripts, each channel's overrides of them plus its own checkout
//! options, and the limits of checkout tokens.
//!
//! A change is a set of patches: a field left out keeps its value, `null` resets it
//! (store-wide: back to the default; per channel: back to following the store), and
//! a value replaces it. Every value is checked, and every problem is reported by field
//! in one 422.

use super::DomainError;
use super::cart::is_plausible_email;
use serde::{Deserialize, Serialize};

/// Longest script or terms URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// Longest terms-and-conditions text accepted (characters).
pub const MAX_TERMS_TEXT_LEN: usize = 65_535;

/// Checkout token lifetime when the request gives none (one day), and the spec's bounds.
pub const DEFAULT_TOKEN_TTL: i64 = 86_400;
pub const MIN_TOKEN_TTL: i64 = 1;
pub const MAX_TOKEN_TTL: i64 = 2_592_000;
/// Checkout tokens are single-use unless the request asks for more.
pub const DEFAULT_TOKEN_MAX_USES: i64 = 1;
pub const MAX_TOKEN_MAX_USES: i64 = 100;

/// A field change: `None` keeps, `Some(None)` resets, `Some(Some(v))` sets.
pub type Patch<T> = Option<Option<T>>;

/// String enums of the channel settings: the wire names, one place.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? } default $default:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name {
            $(
                #[serde(rename = $wire)]
                $variant,
            )+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            /// The accepted values, quoted, for error messages.
            pub fn expected() -> String {
                $name::ALL
                    .iter()
                    .map(|v| format!("`{}`", v.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }
    };
}

wire_enum!(
    /// Which checkout a channel shows.
    CheckoutType { Optimized = "optimized", Custom = "custom" } default Optimized
);
wire_enum!(
    /// Whether shoppers may check out without an account.
    GuestCheckoutType {
        GuestCheckout = "guest_checkout",
        GuestCheckoutAccount = "guest_checkout_account",
        NoGuestCheckout = "no_guest_checkout",
    } default GuestCheckout
);
wire_enum!(
    /// What happens when a guest uses the email of an existing account.
    GuestCheckoutForExistingAccounts {
        AllowGuest = "allow_guest",
        RequireLogin = "require_login",
        EncourageLogin = "encourage_login",
    } default AllowGuest
);
wire_enum!(
    /// How marketing consent is asked for at checkout.
    PolicyConsent { NotAsked = "none", Standard = "standard", Express = "express" } default NotAsked
);
wire_enum!(
    /// Where the order terms and conditions come from (`""`: not chosen).
    OrderTermsType { Unset = "", Link = "link", Textarea = "textarea" } default Unset
);

/// The store-wide settings (and, per channel, the effective values of the same fields).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckoutSettings {
    /// `""` means BigCommerce's optimized one-page checkout.
    pub custom_checkout_script_url: String,
    /// The order confirmation page uses the custom checkout script too.
    pub order_confirmation_use_custom_checkout_script: bool,
    pub custom_order_confirmation_script_url: String,
    pub custom_checkout_supports_uco_settings: bool,
    pub custom_checkout_sri_hash: String,
    pub custom_order_confirmation_sri_hash: String,
}

/// A change to the six script fields, store-wide or per channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptsChange {
    pub custom_checkout_script_url: Patch<String>,
    pub order_confirmation_use_custom_checkout_script: Patch<bool>,
    pub custom_order_confirmation_script_url: Patch<String>,
    pub custom_checkout_supports_uco_settings: Patch<bool>,
    pub custom_checkout_sri_hash: Patch<String>,
    pub custom_order_confirmation_sri_hash: Patch<String>,
}

/// A change to a channel's settings: the script fields and the channel's own options.
/// The enum fields arrive as the raw strings the caller sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelChange {
    pub scripts: ScriptsChange,
    pub checkout_type: Patch<String>,
    pub guest_checkout_type: Patch<String>,
    pub guest_checkout_for_existing_accounts: Patch<String>,
    pub policy_consent: Patch<String>,
    pub order_confirmation_contact_email: Patch<String>,
    pub is_order_terms_and_conditions_enabled: Patch<bool>,
    pub order_terms_and_conditions_type: Patch<String>,
    pub order_terms_and_conditions_link: Patch<String>,
    pub order_terms_and_conditions_textarea: Patch<String>,
    pub should_redirect_to_storefront_for_auth: Patch<bool>,
}

/// What a channel overrides (`None`: the store-wide value, or the default). This is
/// what is stored per channel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_checkout_script_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_confirmation_use_custom_checkout_script: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_order_confirmation_script_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_checkout_supports_uco_settings: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_checkout_sri_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_order_confirmation_sri_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_type: Option<CheckoutType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guest_checkout_type: Option<GuestCheckoutType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guest_checkout_for_existing_accounts: Option<GuestCheckoutForExistingAccounts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_consent: Option<PolicyConsent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_confirmation_contact_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_order_terms_and_conditions_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_terms_and_conditions_type: Option<OrderTermsType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_terms_and_conditions_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_terms_and_conditions_textarea: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub should_redirect_to_storefront_for_auth: Option<bool>,
}

/// A channel's settings as they apply: its overrides over the store-wide settings
/// over the defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelCheckoutSettings {
    pub scripts: CheckoutSettings,
    pub checkout_type: CheckoutType,
    pub guest_checkout_type: GuestCheckoutType,
    pub guest_checkout_for_existing_accounts: GuestCheckoutForExistingAccounts,
    pub policy_consent: PolicyConsent,
    pub order_confirmation_contact_email: String,
    pub is_order_terms_and_conditions_enabled: bool,
    pub order_terms_and_conditions_type: OrderTermsType,
    pub order_terms_and_conditions_link: String,
    pub order_terms_and_conditions_textarea: String,
    pub should_redirect_to_storefront_for_auth: bool,
}

/// Problems found in one request, by field.
#[derive(Default)]
struct Problems(Vec<(String, String)>);

impl Problems {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_string(), message.into()));
    }

    fn into_result(self) -> Result<(), DomainError> {
        match self.0.len() {
            0 => Ok(()),
            1 => {
                let (field, message) = self.0.into_iter().next().unwrap_or_default();
                Err(DomainError::field(field, message))
            }
            n => Err(DomainError::Unprocessable {
                title: format!("{n} checkout settings are invalid; see `errors`."),
                errors: self.0,
            }),
        }
    }
}

fn has_bad_chars(s: &str) -> bool {
    s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// An `http://` or `https://` URL with a host.
fn is_web_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = authority.rsplit('@').next().unwrap_or_default();
            !host.is_empty() && !host.starts_with(':') && !host.contains('\\')
        }
        None => false,
    }
}

/// A `webdav:` path into the store's WebDAV files, e.g. `webdav:checkout/dist/loader.js`.
fn is_webdav_url(s: &str) -> bool {
    let Some(path) = s
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("webdav:"))
        .and_then(|_| s.get(7..))
    else {
        return false;
    };
    let path = path.trim_start_matches('/');
    !path.is_empty() && !path.contains('\\') && !path.split('/').any(|seg| seg == "..")
}

/// A script URL: empty (the default checkout), `http(s)://…`, or `webdav:…`.
fn check_script_url(p: &mut Problems, field: &str, s: &str) {
    if s.is_empty() {
        return;
    }
    if s.len() > MAX_URL_LEN {
        p.add(
            field,
            format!("{field} must be at most {MAX_URL_LEN} characters."),
        );
    } else if has_bad_chars(s) || !(is_web_url(s) || is_webdav_url(s)) {
        p.add(
            field,
            format!(
                "{field} must be empty, an http:// or https:// URL, or a webdav: path (e.g. `webdav:checkout/dist/loader.js`)."
            ),
        );
    }
}

fn check_link(p: &mut Problems, field: &str, s: &str) {
    if s.is_empty() {
        return;
    }
    if s.len() > MAX_URL_LEN {
        p.add(
            field,
            format!("{field} must be at most {MAX_URL_LEN} characters."),
        );
    } else if has_bad_chars(s) || !is_web_url(s) {
        p.add(
            field,
            format!("{field} must be empty or an http:// or https:// URL."),
        );
    }
}

/// A Subresource Integrity hash: `sha256-`, `sha384-` or `sha512-` and the digest in
/// padded standard base64, of exactly that digest's length.
pub fn is_valid_sri_hash(s: &str) -> bool {
    let Some((alg, digest)) = s.split_once('-') else {
        return false;
    };
    let bytes = match alg {
        "sha256" => 32,
        "sha384" => 48,
        "sha512" => 64,
        _ => return false,
    };
    base64_len(digest) == Some(bytes)
}

/// The decoded length of canonical padded standard base64, or `None` when it is not that.
fn base64_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.is_empty() || !b.len().is_multiple_of(4) {
        return None;
    }
    let pad = b.iter().rev().take_while(|c| **c == b'=').count();
    if pad > 2 {
        return None;
    }
    let body = &b[..b.len() - pad];
    let value = |c: u8| -> Option<u8> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let mut last = 0;
    for c in body {
        last = value(*c)?;
    }
    // The bits past the data in the last character must be zero (canonical form).
    let spare_mask = match pad {
        1 => 0b11,
        2 => 0b1111,
        _ => 0,
    };
    if last & spare_mask != 0 {
        return None;
    }
    Some(b.len() / 4 * 3 - pad)
}

fn check_sri(p: &mut Problems, field: &str, s: &str) {
    if !s.is_empty() && !is_valid_sri_hash(s) {
        p.add(
            field,
            format!(
                "{field} must be empty or a Subresource Integrity hash: `sha256-`, `sha384-` or `sha512-` followed by the base64 digest."
            ),
        );
    }
}

fn check_email(p: &mut Problems, field: &str, s: &str) {
    if !s.is_empty() && !is_plausible_email(s) {
        p.add(field, format!("{field} must be empty or an email address."));
    }
}

fn check_text(p: &mut Problems, field: &str, s: &str) {
    if s.chars().count() > MAX_TERMS_TEXT_LEN {
        p.add(
            field,
            format!("{field} must be at most {MAX_TERMS_TEXT_LEN} characters."),
        );
    }
}

/// Checks the script fields a change sets, and that it gives the confirmation page no
/// script of its own while it uses the checkout script (`uses_checkout_script`: the
/// value that will apply after the change), which would otherwise be dropped silently.
fn check_scripts_change(p: &mut Problems, c: &ScriptsChange, uses_checkout_script: bool) {
    if let Some(Some(s)) = &c.custom_checkout_script_url {
        check_script_url(p, "custom_checkout_script_url", s);
    }
    if let Some(Some(s)) = &c.custom_order_confirmation_script_url {
        check_script_url(p, "custom_order_confirmation_script_url", s);
    }
    if let Some(Some(s)) = &c.custom_checkout_sri_hash {
        check_sri(p, "custom_checkout_sri_hash", s);
    }
    if let Some(Some(s)) = &c.custom_order_confirmation_sri_hash {
        check_sri(p, "custom_order_confirmation_sri_hash", s);
    }
    if uses_checkout_script {
        for (field, patch) in [
            (
                "custom_order_confirmation_script_url",
                &c.custom_order_confirmation_script_url,
            ),
            (
                "custom_order_confirmation_sri_hash",
                &c.custom_order_confirmation_sri_hash,
            ),
        ] {
            if matches!(patch, Some(Some(s)) if !s.is_empty()) {
                p.add(
                    field,
                    format!(
                        "{field} must be empty while order_confirmation_use_custom_checkout_script is true."
                    ),
                );
            }
        }
    }
}

/// Applies a patch to a plain value (`reset` is the value `null` gives back).
fn patched<T: Clone>(current: &T, patch: &Patch<T>, reset: T) -> T {
    match patch {
        None => current.clone(),
        Some(None) => reset,
        Some(Some(v)) => v.clone(),
    }
}

/// Applies a patch to an override (`null` removes it).
fn overridden<T: Clone>(current: &Option<T>, patch: &Patch<T>) -> Option<T> {
    match patch {
        None => current.clone(),
        Some(v) => v.clone(),
    }
}

fn parse_enum<T>(
    p: &mut Problems,
    field: &str,
    patch: &Patch<String>,
    parse: fn(&str) -> Option<T>,
    expected: fn() -> String,
) -> Patch<T> {
    match patch {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) => match parse(s) {
            Some(v) => Some(Some(v)),
            None => {
                p.add(field, format!("{field} must be one of {}.", expected()));
                None
            }
        },
    }
}

impl CheckoutSettings {
    /// The settings after `change`, or every problem with it.
    pub fn updated(&self, change: &ScriptsChange) -> Result<CheckoutSettings, DomainError> {
        let mut p = Problems::default();
        let uses_checkout_script = patched(
            &self.order_confirmation_use_custom_checkout_script,
            &change.order_confirmation_use_custom_checkout_script,
            false,
        );
        check_scripts_change(&mut p, change, uses_checkout_script);
        p.into_result()?;
        let c = change;
        let next = CheckoutSettings {
            custom_checkout_script_url: patched(
                &self.custom_checkout_script_url,
                &c.custom_checkout_script_url,
                String::new(),
            ),
            order_confirmation_use_custom_checkout_script: patched(
                &self.order_confirmation_use_custom_checkout_script,
                &c.order_confirmation_use_custom_checkout_script,
                false,
            ),
            custom_order_confirmation_script_url: patched(
                &self.custom_order_confirmation_script_url,
                &c.custom_order_confirmation_script_url,
                String::new(),
            ),
            custom_checkout_supports_uco_settings: patched(
                &self.custom_checkout_supports_uco_settings,
                &c.custom_checkout_supports_uco_settings,
                false,
            ),
            custom_checkout_sri_hash: patched(
                &self.custom_checkout_sri_hash,
                &c.custom_checkout_sri_hash,
                String::new(),
            ),
            custom_order_confirmation_sri_hash: patched(
                &self.custom_order_confirmation_sri_hash,
                &c.custom_order_confirmation_sri_hash,
                String::new(),
            ),
        };
        Ok(next.normalized())
    }

    /// When the confirmation page uses the checkout script, it has no script of its own.
    pub fn normalized(mut self) -> CheckoutSettings {
        if self.order_confirmation_use_custom_checkout_script {
            self.custom_order_confirmation_script_url.clear();
            self.custom_order_confirmation_sri_hash.clear();
        }
        self
    }
}

impl ChannelOverrides {
    /// The channel's overrides after `change`, or every problem with it. `global` is
    /// the store-wide settings, needed to check the settings as they will apply.
    pub fn updated(
        &self,
        change: &ChannelChange,
        global: &CheckoutSettings,
    ) -> Result<ChannelOverrides, DomainError> {
        let mut p = Problems::default();
        let uses_checkout_script = overridden(
            &self.order_confirmation_use_custom_checkout_script,
            &change.scripts.order_confirmation_use_custom_checkout_script,
        )
        .unwrap_or(global.order_confirmation_use_custom_checkout_script);
        check_scripts_change(&mut p, &change.scripts, uses_checkout_script);
        let checkout_type = parse_enum(
            &mut p,
            "checkout_type",
            &change.checkout_type,
            CheckoutType::parse,
            CheckoutType::expected,
        );
        let guest_checkout_type = parse_enum(
            &mut p,
            "guest_checkout_type",
            &change.guest_checkout_type,
            GuestCheckoutType::parse,
            GuestCheckoutType::expected,
        );
        let guest_existing = parse_enum(
            &mut p,
            "guest_checkout_for_existing_accounts",
            &change.guest_checkout_for_existing_accounts,
            GuestCheckoutForExistingAccounts::parse,
            GuestCheckoutForExistingAccounts::expected,
        );
        let policy_consent = parse_enum(
            &mut p,
            "policy_consent",
            &change.policy_consent,
            PolicyConsent::parse,
            PolicyConsent::expected,
        );
        let terms_type = parse_enum(
            &mut p,
            "order_terms_and_conditions_type",
            &change.order_terms_and_conditions_type,
            OrderTermsType::parse,
            OrderTermsType::expected,
        );
        if let Some(Some(s)) = &change.order_confirmation_contact_email {
            check_email(&mut p, "order_confirmation_contact_email", s);
        }
        if let Some(Some(s)) = &change.order_terms_and_conditions_link {
            check_link(&mut p, "order_terms_and_conditions_link", s);
        }
        if let Some(Some(s)) = &change.order_terms_and_conditions_textarea {
            check_text(&mut p, "order_terms_and_conditions_textarea", s);
        }
        p.into_result()?;

        let s = &change.scripts;
        let next = ChannelOverrides {
            custom_checkout_script_url: overridden(
                &self.custom_checkout_script_url,
                &s.custom_checkout_script_url,
            ),
            order_confirmation_use_custom_checkout_script: overridden(
                &self.order_confirmation_use_custom_checkout_script,
                &s.order_confirmation_use_custom_checkout_script,
            ),
            custom_order_confirmation_script_url: overridden(
                &self.custom_order_confirmation_script_url,
                &s.custom_order_confirmation_script_url,
            ),
            custom_checkout_supports_uco_settings: overridden(
                &self.custom_checkout_supports_uco_settings,
                &s.custom_checkout_supports_uco_settings,
            ),
            custom_checkout_sri_hash: overridden(
                &self.custom_checkout_sri_hash,
                &s.custom_checkout_sri_hash,
            ),
            custom_order_confirmation_sri_hash: overridden(
                &self.custom_order_confirmation_sri_hash,
                &s.custom_order_confirmation_sri_hash,
            ),
            checkout_type: overridden(&self.checkout_type, &checkout_type),
            guest_checkout_type: overridden(&self.guest_checkout_type, &guest_checkout_type),
            guest_checkout_for_existing_accounts: overridden(
                &self.guest_checkout_for_existing_accounts,
                &guest_existing,
            ),
            policy_consent: overridden(&self.policy_consent, &policy_consent),
            order_confirmation_contact_email: overridden(
                &self.order_confirmation_contact_email,
                &change.order_confirmation_contact_email,
            ),
            is_order_terms_and_conditions_enabled: overridden(
                &self.is_order_terms_and_conditions_enabled,
                &change.is_order_terms_and_conditions_enabled,
            ),
            order_terms_and_conditions_type: overridden(
                &self.order_terms_and_conditions_type,
                &terms_type,
            ),
            order_terms_and_conditions_link: overridden(
                &self.order_terms_and_conditions_link,
                &change.order_terms_and_conditions_link,
            ),
            order_terms_and_conditions_textarea: overridden(
                &self.order_terms_and_conditions_textarea,
                &change.order_terms_and_conditions_textarea,
            ),
            should_redirect_to_storefront_for_auth: overridden(
                &self.should_redirect_to_storefront_for_auth,
                &change.should_redirect_to_storefront_for_auth,
            ),
        };
        next.effective(global).check_terms()?;
        Ok(next)
    }

    /// The settings as they apply on this channel.
    pub fn effective(&self, global: &CheckoutSettings) -> ChannelCheckoutSettings {
        let or = |o: &Option<String>, g: &String| o.clone().unwrap_or_else(|| g.clone());
        let scripts = CheckoutSettings {
            custom_checkout_script_url: or(
                &self.custom_checkout_script_url,
                &global.custom_checkout_script_url,
            ),
            order_confirmation_use_custom_checkout_script: self
                .order_confirmation_use_custom_checkout_script
                .unwrap_or(global.order_confirmation_use_custom_checkout_script),
            custom_order_confirmation_script_url: or(
                &self.custom_order_confirmation_script_url,
                &global.custom_order_confirmation_script_url,
            ),
            custom_checkout_supports_uco_settings: self
                .custom_checkout_supports_uco_settings
                .unwrap_or(global.custom_checkout_supports_uco_settings),
            custom_checkout_sri_hash: or(
                &self.custom_checkout_sri_hash,
                &global.custom_checkout_sri_hash,
            ),
            custom_order_confirmation_sri_hash: or(
                &self.custom_order_confirmation_sri_hash,
                &global.custom_order_confirmation_sri_hash,
            ),
        }
        .normalized();
        ChannelCheckoutSettings {
            scripts,
            checkout_type: self.checkout_type.unwrap_or_default(),
            guest_checkout_type: self.guest_checkout_type.unwrap_or_default(),
            guest_checkout_for_existing_accounts: self
                .guest_checkout_for_existing_accounts
                .unwrap_or_default(),
            policy_consent: self.policy_consent.unwrap_or_default(),
            order_confirmation_contact_email: self
                .order_confirmation_contact_email
                .clone()
                .unwrap_or_default(),
            is_order_terms_and_conditions_enabled: self
                .is_order_terms_and_conditions_enabled
                .unwrap_or_default(),
            order_terms_and_conditions_type: self
                .order_terms_and_conditions_type
                .unwrap_or_default(),
            order_terms_and_conditions_link: self
                .order_terms_and_conditions_link
                .clone()
                .unwrap_or_default(),
            order_terms_and_conditions_textarea: self
                .order_terms_and_conditions_textarea
                .clone()
                .unwrap_or_default(),
            should_redirect_to_storefront_for_auth: self
                .should_redirect_to_storefront_for_auth
                .unwrap_or_default(),
        }
    }
}

impl ChannelCheckoutSettings {
    /// Terms that are switched on must say where they come from, and have it.
    fn check_terms(&self) -> Result<(), DomainError> {
        if !self.is_order_terms_and_conditions_enabled {
            return Ok(());
        }
        match self.order_terms_and_conditions_type {
            OrderTermsType::Unset => Err(DomainError::field(
                "order_terms_and_conditions_type",
                "order_terms_and_conditions_type must be `link` or `textarea` when is_order_terms_and_conditions_enabled is true.",
            )),
            OrderTermsType::Link if self.order_terms_and_conditions_link.is_empty() => {
                Err(DomainError::field(
                    "order_terms_and_conditions_link",
                    "order_terms_and_conditions_link is required when the terms and conditions are enabled with type `link`.",
                ))
            }
            OrderTermsType::Textarea
                if self.order_terms_and_conditions_textarea.trim().is_empty() =>
            {
                Err(DomainError::field(
                    "order_terms_and_conditions_textarea",
                    "order_terms_and_conditions_textarea is required when the terms and conditions are enabled with type `textarea`.",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// How long a checkout token lives and how often it may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenLimits {
    pub max_uses: i64,
    pub ttl: i64,
}

/// Checks a token request's `maxUses` and `ttl` (JSON numbers; whole values only) and
/// fills in the defaults.
pub fn token_limits(max_uses: Option<f64>, ttl: Option<f64>) -> Result<TokenLimits, DomainError> {
    let mut p = Problems::default();
    let mut whole = |field: &str, v: Option<f64>, default: i64, min: i64, max: i64| -> i64 {
        match v {
            None => default,
            Some(x) if x.fract() == 0.0 && x >= min as f64 && x <= max as f64 => x as i64,
            Some(_) => {
                p.add(
                    field,
                    format!("{field} must be a whole number from {min} to {max}."),
                );
                default
            }
        }
    };
    let max_uses = whole(
        "maxUses",
        max_uses,
        DEFAULT_TOKEN_MAX_USES,
        1,
        MAX_TOKEN_MAX_USES,
    );
    let ttl = whole("ttl", ttl, DEFAULT_TOKEN_TTL, MIN_TOKEN_TTL, MAX_TOKEN_TTL);
    p.into_result()?;
    Ok(TokenLimits { max_uses, ttl })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: DomainError) -> Vec<String> {
        match e {
            DomainError::Unprocessable { errors, .. } => {
                errors.into_iter().map(|(f, _)| f).collect()
            }
            DomainError::NotFound(_) => vec![],
        }
    }

    const SHA256: &str = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    const SHA384: &str = "sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb";
    const SHA512: &str = "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==";

    #[test]
    fn sri_hashes() {
        for ok in [SHA256, SHA384, SHA512] {
            assert!(is_valid_sri_hash(ok), "{ok}");
        }
        for bad in [
            "sha256-1234567890",
            "md5-1B2M2Y8AsgTpgAmY7PhCfg==",
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=",
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF!=",
            "sha512-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "SHA256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "sha256-",
            "",
        ] {
            assert!(!is_valid_sri_hash(bad), "{bad}");
        }
    }

    #[test]
    fn script_urls() {
        let ok = |s: &str| {
            let mut p = Problems::default();
            check_script_url(&mut p, "f", s);
            p.0.is_empty()
        };
        assert!(ok(""));
        assert!(ok("https://example.com/custom-checkout-script.js"));
        assert!(ok("http://cdn.example.com:8080/a.js?v=1"));
        assert!(ok("webdav:vtz-checkout/dist/auto-loader.js"));
        assert!(!ok("webdav:"));
        assert!(!ok("webdav:../secret.js"));
        assert!(!ok("ftp://example.com/a.js"));
        assert!(!ok("javascript:alert(1)"));
        assert!(!ok("https://"));
        assert!(!ok("https:///path"));
        assert!(!ok("https://exa mple.com/a.js"));
        assert!(!ok("/relative/a.js"));
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(!ok(&long));
        let edge = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN - 20));
        assert_eq!(edge.len(), MAX_URL_LEN);
        assert!(ok(&edge));
    }

    #[test]
    fn global_patch_keeps_resets_and_sets() {
        let cur = CheckoutSettings {
            custom_checkout_script_url: "https://a.example/c.js".into(),
            custom_checkout_sri_hash: SHA256.into(),
            ..Default::default()
        };
        let next = cur
            .updated(&ScriptsChange {
                custom_checkout_sri_hash: Some(None),
                custom_checkout_supports_uco_settings: Some(Some(true)),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(next.custom_checkout_script_url, "https://a.example/c.js");
        assert_eq!(next.custom_checkout_sri_hash, "");
        assert!(next.custom_checkout_supports_uco_settings);

        let err = cur
            .updated(&ScriptsChange {
                custom_checkout_script_url: Some(Some("ftp://x/y".into())),
                custom_order_confirmation_sri_hash: Some(Some("sha1-abc".into())),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "custom_checkout_script_url",
                "custom_order_confirmation_sri_hash"
            ]
        );
    }

    #[test]
    fn confirmation_uses_checkout_script_or_its_own() {
        let cur = CheckoutSettings {
            custom_order_confirmation_script_url: "https://a.example/o.js".into(),
            custom_order_confirmation_sri_hash: SHA384.into(),
            ..Default::default()
        };
        let next = cur
            .updated(&ScriptsChange {
                order_confirmation_use_custom_checkout_script: Some(Some(true)),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(next.custom_order_confirmation_script_url, "");
        assert_eq!(next.custom_order_confirmation_sri_hash, "");
        let err = cur
            .updated(&ScriptsChange {
                order_confirmation_use_custom_checkout_script: Some(Some(true)),
                custom_order_confirmation_script_url: Some(Some("https://b.example/o.js".into())),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(fields(err), ["custom_order_confirmation_script_url"]);
        // Also when the flag is already on.
        let err = next
            .updated(&ScriptsChange {
                custom_order_confirmation_script_url: Some(Some("https://b.example/o.js".into())),
                custom_order_confirmation_sri_hash: Some(Some(SHA256.into())),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "custom_order_confirmation_script_url",
                "custom_order_confirmation_sri_hash"
            ]
        );
        // Turning it off in the same change makes room for the page's own script.
        let own = next
            .updated(&ScriptsChange {
                order_confirmation_use_custom_checkout_script: Some(Some(false)),
                custom_order_confirmation_script_url: Some(Some("https://b.example/o.js".into())),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            own.custom_order_confirmation_script_url,
            "https://b.example/o.js"
        );
    }

    #[test]
    fn channel_overrides_fall_back_to_global_then_defaults() {
        let global = CheckoutSettings {
            custom_checkout_script_url: "https://g.example/c.js".into(),
            ..Default::default()
        };
        let none = ChannelOverrides::default().effective(&global);
        assert_eq!(none.scripts, global);
        assert_eq!(none.checkout_type, CheckoutType::Optimized);
        assert_eq!(none.guest_checkout_type, GuestCheckoutType::GuestCheckout);
        assert_eq!(none.order_terms_and_conditions_type, OrderTermsType::Unset);

        let o = ChannelOverrides::default()
            .updated(
                &ChannelChange {
                    scripts: ScriptsChange {
                        custom_checkout_script_url: Some(Some(String::new())),
                        ..Default::default()
                    },
                    checkout_type: Some(Some("custom".into())),
                    policy_consent: Some(Some("express".into())),
                    ..Default::default()
                },
                &global,
            )
            .unwrap();
        let e = o.effective(&global);
        assert_eq!(e.scripts.custom_checkout_script_url, "");
        assert_eq!(e.checkout_type, CheckoutType::Custom);
        assert_eq!(e.policy_consent, PolicyConsent::Express);

        // null drops the override again.
        let o = o
            .updated(
                &ChannelChange {
                    scripts: ScriptsChange {
                        custom_checkout_script_url: Some(None),
                        ..Default::default()
                    },
                    checkout_type: Some(None),
                    ..Default::default()
                },
                &global,
            )
            .unwrap();
        assert_eq!(o.custom_checkout_script_url, None);
        assert_eq!(o.checkout_type, None);
        assert_eq!(o.policy_consent, Some(PolicyConsent::Express));
        assert_eq!(
            o.effective(&global).scripts.custom_checkout_script_url,
            "https://g.example/c.js"
        );
    }

    #[test]
    fn channel_enums_and_terms_are_checked() {
        let g = CheckoutSettings::default();
        let err = ChannelOverrides::default()
            .updated(
                &ChannelChange {
                    checkout_type: Some(Some("fancy".into())),
                    guest_checkout_type: Some(Some("GUEST_CHECKOUT".into())),
                    guest_checkout_for_existing_accounts: Some(Some("maybe".into())),
                    policy_consent: Some(Some("".into())),
                    order_terms_and_conditions_type: Some(Some("pdf".into())),
                    order_confirmation_contact_email: Some(Some("nobody".into())),
                    order_terms_and_conditions_link: Some(Some("mailto:x@y.z".into())),
                    ..Default::default()
                },
                &g,
            )
            .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "checkout_type",
                "guest_checkout_type",
                "guest_checkout_for_existing_accounts",
                "policy_consent",
                "order_terms_and_conditions_type",
                "order_confirmation_contact_email",
                "order_terms_and_conditions_link",
            ]
        );

        let enable = |extra: ChannelChange| {
            ChannelOverrides::default().updated(
                &ChannelChange {
                    is_order_terms_and_conditions_enabled: Some(Some(true)),
                    ..extra
                },
                &g,
            )
        };
        let err = enable(ChannelChange::default()).unwrap_err();
        assert_eq!(fields(err), ["order_terms_and_conditions_type"]);
        let err = enable(ChannelChange {
            order_terms_and_conditions_type: Some(Some("link".into())),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(fields(err), ["order_terms_and_conditions_link"]);
        assert!(
            enable(ChannelChange {
                order_terms_and_conditions_type: Some(Some("textarea".into())),
                order_terms_and_conditions_textarea: Some(Some("Be nice.".into())),
                ..Default::default()
            })
            .is_ok()
        );
        assert_eq!(OrderTermsType::parse(""), Some(OrderTermsType::Unset));
    }

    #[test]
    fn token_limits_defaults_and_bounds() {
        assert_eq!(
            token_limits(None, None).unwrap(),
            TokenLimits {
                max_uses: 1,
                ttl: 86_400
            }
        );
        assert_eq!(
            token_limits(Some(3.0), Some(2.0)).unwrap(),
            TokenLimits {
                max_uses: 3,
                ttl: 2
            }
        );
        assert!(token_limits(None, Some(2_592_000.0)).is_ok());
        for ttl in [0.0, -1.0, 2_592_001.0, 1.5, f64::NAN] {
            assert_eq!(fields(token_limits(None, Some(ttl)).unwrap_err()), ["ttl"]);
        }
        for uses in [0.0, 101.0, 2.5] {
            assert_eq!(
                fields(token_limits(Some(uses), None).unwrap_err()),
                ["maxUses"]
            );
        }
    }
}
