//! Metafields: free-form data an app attaches to a resource (a cart or an order). Pure
//! validation of what a client may write; no I/O.

use super::DomainError;
use super::scope::Scope;
use std::fmt;
use std::str::FromStr;

pub const NAMESPACE_MAX: usize = 64;
pub const KEY_MAX: usize = 64;
pub const VALUE_MAX: usize = 65_535;
pub const DESCRIPTION_MAX: usize = 255;

/// The kind of resource a metafield hangs off. One table and one set of use cases serve
/// both; what differs (scopes, id syntax, limits, wording) is answered here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetafieldResource {
    Cart,
    Order,
}

impl MetafieldResource {
    /// The `resource_type` stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            MetafieldResource::Cart => "cart",
            MetafieldResource::Order => "order",
        }
    }

    /// The resource's name in messages ("Cart …", "Order …").
    pub fn noun(self) -> &'static str {
        match self {
            MetafieldResource::Cart => "Cart",
            MetafieldResource::Order => "Order",
        }
    }

    pub fn read_scope(self) -> Scope {
        match self {
            MetafieldResource::Cart => Scope::CartReadOnly,
            MetafieldResource::Order => Scope::V2OrdersReadOnly,
        }
    }

    pub fn write_scope(self) -> Scope {
        match self {
            MetafieldResource::Cart => Scope::Cart,
            MetafieldResource::Order => Scope::V2Orders,
        }
    }

    /// How many metafields one resource may hold. BigCommerce documents 250 per order
    /// (per client); it states no limit for carts.
    pub fn max_per_resource(self) -> Option<i64> {
        match self {
            MetafieldResource::Cart => None,
            MetafieldResource::Order => Some(MAX_PER_ORDER),
        }
    }

    /// The stored form of a resource id as a client sent it: a cart's UUID (hyphenated,
    /// lower case) or an order's positive integer. `None` when it cannot name one.
    pub fn canonical_id(self, raw: &str) -> Option<String> {
        let raw = raw.trim();
        match self {
            MetafieldResource::Cart => uuid::Uuid::parse_str(raw).ok().map(|u| u.to_string()),
            MetafieldResource::Order => raw
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| n.to_string()),
        }
    }
}

pub const MAX_PER_ORDER: i64 = 250;

/// Who may see and change a metafield besides the app that wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PermissionSet {
    AppOnly,
    Read,
    Write,
    ReadAndSfAccess,
    WriteAndSfAccess,
}

const PERMISSION_NAMES: &[(PermissionSet, &str)] = &[
    (PermissionSet::AppOnly, "app_only"),
    (PermissionSet::Read, "read"),
    (PermissionSet::Write, "write"),
    (PermissionSet::ReadAndSfAccess, "read_and_sf_access"),
    (PermissionSet::WriteAndSfAccess, "write_and_sf_access"),
];

impl PermissionSet {
    pub fn as_str(self) -> &'static str {
        PERMISSION_NAMES
            .iter()
            .find(|(p, _)| *p == self)
            .map(|(_, n)| *n)
            .unwrap_or("app_only")
    }

    fn names() -> String {
        PERMISSION_NAMES
            .iter()
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PermissionSet {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        PERMISSION_NAMES
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(p, _)| *p)
            .ok_or_else(|| {
                DomainError::field(
                    "permission_set",
                    format!(
                        "permission_set `{s}` is not one of: {}.",
                        PermissionSet::names()
                    ),
                )
            })
    }
}

/// A metafield as a client asks to create it: every field present and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetafieldDraft {
    pub namespace: String,
    pub key: String,
    pub value: String,
    pub permission_set: PermissionSet,
    pub description: String,
}

/// A partial change: `None` keeps the stored value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetafieldPatch {
    pub namespace: Option<String>,
    pub key: Option<String>,
    pub value: Option<String>,
    pub permission_set: Option<PermissionSet>,
    pub description: Option<String>,
}

impl MetafieldPatch {
    pub fn is_empty(&self) -> bool {
        self.namespace.is_none()
            && self.key.is_none()
            && self.value.is_none()
            && self.permission_set.is_none()
            && self.description.is_none()
    }
}

/// Collects every problem with a request so one answer names them all.
#[derive(Default)]
struct Problems(Vec<(String, String)>);

impl Problems {
    fn push(&mut self, field: &str, message: String) {
        self.0.push((field.to_string(), message));
    }

    fn length(&mut self, field: &str, value: &str, min: usize, max: usize) {
        let n = value.chars().count();
        if n < min || n > max {
            let msg = if min == 0 {
                format!("{field} must be at most {max} characters long (got {n}).")
            } else {
                format!("{field} must be {min} to {max} characters long (got {n}).")
            };
            self.push(field, msg);
        }
    }

    fn permission(&mut self, raw: &str) -> Option<PermissionSet> {
        match raw.parse::<PermissionSet>() {
            Ok(p) => Some(p),
            Err(DomainError::Unprocessable { errors, .. }) => {
                self.0.extend(errors);
                None
            }
            Err(DomainError::NotFound(m)) => {
                self.push("permission_set", m);
                None
            }
        }
    }

    fn finish(self) -> Result<(), DomainError> {
        match self.0.first() {
            None => Ok(()),
            Some((_, first)) => {
                let title = if self.0.len() == 1 {
                    format!("The metafield is invalid: {first}")
                } else {
                    format!(
                        "The metafield is invalid: {first} (and {} more problem{}).",
                        self.0.len() - 1,
                        if self.0.len() == 2 { "" } else { "s" }
                    )
                };
                Err(DomainError::Unprocessable {
                    title,
                    errors: self.0,
                })
            }
        }
    }
}

/// The fields of a create request as received: absent ones are `None`.
#[derive(Clone, Debug, Default)]
pub struct RawMetafield {
    pub namespace: Option<String>,
    pub key: Option<String>,
    pub value: Option<String>,
    pub permission_set: Option<String>,
    pub description: Option<String>,
}

/// Checks a create request: namespace, key, value and permission_set are required.
pub fn validate_new(raw: RawMetafield) -> Result<MetafieldDraft, DomainError> {
    let mut p = Problems::default();
    for (field, v) in [
        ("namespace", &raw.namespace),
        ("key", &raw.key),
        ("value", &raw.value),
        ("permission_set", &raw.permission_set),
    ] {
        if v.is_none() {
            p.push(field, format!("{field} is required."));
        }
    }
    let permission = raw.permission_set.as_deref().and_then(|s| p.permission(s));
    check_lengths(
        &mut p,
        raw.namespace.as_deref(),
        raw.key.as_deref(),
        raw.value.as_deref(),
        raw.description.as_deref(),
    );
    p.finish()?;
    match (raw.namespace, raw.key, raw.value, permission) {
        (Some(namespace), Some(key), Some(value), Some(permission_set)) => Ok(MetafieldDraft {
            namespace,
            key,
            value,
            permission_set,
            description: raw.description.unwrap_or_default(),
        }),
        // Unreachable after `finish`, but never panic on a request path.
        _ => Err(DomainError::invalid("The metafield is incomplete.")),
    }
}

/// Checks a partial update: only the fields present are checked, with the same rules.
pub fn validate_patch(raw: RawMetafield) -> Result<MetafieldPatch, DomainError> {
    let mut p = Problems::default();
    let permission = raw.permission_set.as_deref().and_then(|s| p.permission(s));
    check_lengths(
        &mut p,
        raw.namespace.as_deref(),
        raw.key.as_deref(),
        raw.value.as_deref(),
        raw.description.as_deref(),
    );
    p.finish()?;
    Ok(MetafieldPatch {
        namespace: raw.namespace,
        key: raw.key,
        value: raw.value,
        permission_set: permission,
        description: raw.description,
    })
}

fn check_lengths(
    p: &mut Problems,
    namespace: Option<&str>,
    key: Option<&str>,
    value: Option<&str>,
    description: Option<&str>,
) {
    if let Some(v) = namespace {
        p.length("namespace", v, 1, NAMESPACE_MAX);
    }
    if let Some(v) = key {
        p.length("key", v, 1, KEY_MAX);
    }
    if let Some(v) = value {
        p.length("value", v, 1, VALUE_MAX);
    }
    if let Some(v) = description {
        p.length("description", v, 0, DESCRIPTION_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(ns: &str, key: &str, value: &str, perm: &str) -> RawMetafield {
        RawMetafield {
            namespace: Some(ns.into()),
            key: Some(key.into()),
            value: Some(value.into()),
            permission_set: Some(perm.into()),
            description: None,
        }
    }

    fn fields(e: DomainError) -> Vec<String> {
        match e {
            DomainError::Unprocessable { errors, .. } => {
                errors.into_iter().map(|(f, _)| f).collect()
            }
            DomainError::NotFound(_) => Vec::new(),
        }
    }

    #[test]
    fn a_complete_metafield_is_accepted() {
        let d = validate_new(raw("Sales", "Staff", "Sam", "read")).unwrap();
        assert_eq!(d.permission_set, PermissionSet::Read);
        assert_eq!(d.description, "");
    }

    #[test]
    fn every_missing_field_is_named() {
        let e = validate_new(RawMetafield::default()).unwrap_err();
        assert_eq!(
            fields(e),
            vec!["namespace", "key", "value", "permission_set"]
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert!(validate_new(raw(&"é".repeat(64), "k", "v", "app_only")).is_ok());
        let e = validate_new(raw(&"a".repeat(65), "", "v", "app_only")).unwrap_err();
        assert_eq!(fields(e), vec!["namespace", "key"]);
        assert!(validate_new(raw("n", "k", &"v".repeat(VALUE_MAX), "write")).is_ok());
        let e = validate_new(raw("n", "k", &"v".repeat(VALUE_MAX + 1), "write")).unwrap_err();
        assert_eq!(fields(e), vec!["value"]);
        let mut r = raw("n", "k", "v", "write");
        r.description = Some("d".repeat(256));
        assert_eq!(fields(validate_new(r).unwrap_err()), vec!["description"]);
    }

    #[test]
    fn unknown_permission_set_is_rejected() {
        let e = validate_new(raw("n", "k", "v", "everyone")).unwrap_err();
        assert_eq!(fields(e), vec!["permission_set"]);
        for (p, name) in PERMISSION_NAMES {
            assert_eq!(name.parse::<PermissionSet>().unwrap(), *p);
            assert_eq!(p.as_str(), *name);
        }
    }

    #[test]
    fn resource_ids_are_canonical() {
        let cart = MetafieldResource::Cart;
        let u = "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0";
        assert_eq!(cart.canonical_id(u), Some(u.to_lowercase()));
        assert_eq!(cart.canonical_id("12"), None);
        let order = MetafieldResource::Order;
        assert_eq!(order.canonical_id(" 101 "), Some("101".into()));
        assert_eq!(order.canonical_id("0"), None);
        assert_eq!(order.canonical_id("abc"), None);
        assert_eq!(order.max_per_resource(), Some(250));
        assert_eq!(cart.max_per_resource(), None);
    }

    #[test]
    fn a_patch_checks_only_what_it_carries() {
        let p = validate_patch(RawMetafield {
            value: Some("new".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(p.value.as_deref(), Some("new"));
        assert!(p.namespace.is_none());
        assert!(validate_patch(RawMetafield::default()).unwrap().is_empty());
        let e = validate_patch(RawMetafield {
            key: Some(String::new()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(fields(e), vec!["key"]);
    }
}
