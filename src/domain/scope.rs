//! API-account scopes, by BigCommerce's names.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Cart,
    CartReadOnly,
    Checkouts,
    CheckoutsReadOnly,
    V2Orders,
    V2OrdersReadOnly,
    V2Products,
    V2ProductsReadOnly,
    V2Customers,
    V2CustomersReadOnly,
    V2Marketing,
    V2MarketingReadOnly,
    V2Information,
    V2InformationReadOnly,
    V2Content,
    V2ContentReadOnly,
    PaymentsAccessTokenCreate,
    PaymentsMethodsRead,
    TransactionsReadOnly,
    Transactions,
    StorefrontApiCustomerImpersonation,
}

const NAMES: &[(Scope, &str)] = &[
    (Scope::Cart, "store_cart"),
    (Scope::CartReadOnly, "store_cart_read_only"),
    (Scope::Checkouts, "store_checkouts"),
    (Scope::CheckoutsReadOnly, "store_checkouts_read_only"),
    (Scope::V2Orders, "store_v2_orders"),
    (Scope::V2OrdersReadOnly, "store_v2_orders_read_only"),
    (Scope::V2Products, "store_v2_products"),
    (Scope::V2ProductsReadOnly, "store_v2_products_read_only"),
    (Scope::V2Customers, "store_v2_customers"),
    (Scope::V2CustomersReadOnly, "store_v2_customers_read_only"),
    (Scope::V2Marketing, "store_v2_marketing"),
    (Scope::V2MarketingReadOnly, "store_v2_marketing_read_only"),
    (Scope::V2Information, "store_v2_information"),
    (
        Scope::V2InformationReadOnly,
        "store_v2_information_read_only",
    ),
    (Scope::V2Content, "store_v2_content"),
    (Scope::V2ContentReadOnly, "store_v2_content_read_only"),
    (
        Scope::PaymentsAccessTokenCreate,
        "store_payments_access_token_create",
    ),
    (Scope::PaymentsMethodsRead, "store_payments_methods_read"),
    (
        Scope::TransactionsReadOnly,
        "store_v2_transactions_read_only",
    ),
    (Scope::Transactions, "store_v2_transactions"),
    (
        Scope::StorefrontApiCustomerImpersonation,
        "store_storefront_api_customer_impersonation",
    ),
];

impl Scope {
    pub fn all() -> impl Iterator<Item = Scope> {
        NAMES.iter().map(|(s, _)| *s)
    }

    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(s, _)| *s == self)
            .map(|(_, n)| *n)
            .unwrap_or("unknown")
    }

    /// The read-only twin of a modify scope; holding the modify scope grants reading too.
    pub fn read_only(self) -> Option<Scope> {
        Some(match self {
            Scope::Cart => Scope::CartReadOnly,
            Scope::Checkouts => Scope::CheckoutsReadOnly,
            Scope::V2Orders => Scope::V2OrdersReadOnly,
            Scope::V2Products => Scope::V2ProductsReadOnly,
            Scope::V2Customers => Scope::V2CustomersReadOnly,
            Scope::V2Marketing => Scope::V2MarketingReadOnly,
            Scope::V2Information => Scope::V2InformationReadOnly,
            Scope::V2Content => Scope::V2ContentReadOnly,
            Scope::Transactions => Scope::TransactionsReadOnly,
            _ => return None,
        })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NAMES
            .iter()
            .find(|(_, n)| *n == s.trim())
            .map(|(sc, _)| *sc)
            .ok_or_else(|| format!("unknown scope `{s}`"))
    }
}

/// The scopes an API account holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn new(mut v: Vec<Scope>) -> Self {
        v.sort();
        v.dedup();
        Scopes(v)
    }

    pub fn every() -> Self {
        Scopes::new(Scope::all().collect())
    }

    /// Parses a comma- or space-separated list of scope names.
    pub fn parse_list(s: &str) -> Result<Self, String> {
        let v = s
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .map(Scope::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Scopes::new(v))
    }

    /// True when the account may do what `needed` guards: the scope itself, or, for a
    /// read-only scope, its modify twin.
    pub fn allows(&self, needed: Scope) -> bool {
        self.0
            .iter()
            .any(|&held| held == needed || held.read_only() == Some(needed))
    }

    pub fn to_list(&self) -> String {
        self.0
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modify_implies_read() {
        let s = Scopes::parse_list("store_cart").unwrap();
        assert!(s.allows(Scope::CartReadOnly));
        assert!(s.allows(Scope::Cart));
        assert!(!s.allows(Scope::Checkouts));
        let r = Scopes::parse_list("store_cart_read_only").unwrap();
        assert!(!r.allows(Scope::Cart));
    }

    #[test]
    fn unknown_scope_is_rejected() {
        assert!(Scopes::parse_list("store_cart,store_bogus").is_err());
        let all = Scopes::every();
        assert_eq!(Scopes::parse_list(&all.to_list()).unwrap(), all);
    }
}
