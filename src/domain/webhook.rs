//! Webhook rules: which scopes exist, which events a subscription's scope matches,
//! what a destination may be, the payload BigCommerce sends, and retry pacing.

use serde_json::{Value, json};

/// Every scope BigCommerce's webhook events guide defines (wildcards included).
pub const SCOPES: &[&str] = &[
    "store/app/uninstalled",
    "store/brand/metafield/*",
    "store/brand/metafield/created",
    "store/brand/metafield/deleted",
    "store/brand/metafield/updated",
    "store/cart/*",
    "store/cart/abandoned",
    "store/cart/converted",
    "store/cart/couponApplied",
    "store/cart/created",
    "store/cart/deleted",
    "store/cart/lineItem/*",
    "store/cart/lineItem/created",
    "store/cart/lineItem/deleted",
    "store/cart/lineItem/updated",
    "store/cart/metafield/created",
    "store/cart/metafield/deleted",
    "store/cart/metafield/updated",
    "store/cart/updated",
    "store/category/*",
    "store/category/created",
    "store/category/deleted",
    "store/category/metafield/created",
    "store/category/metafield/deleted",
    "store/category/metafield/updated",
    "store/category/updated",
    "store/customer/*",
    "store/customer/address/*",
    "store/customer/address/created",
    "store/customer/address/deleted",
    "store/customer/address/updated",
    "store/customer/created",
    "store/customer/deleted",
    "store/customer/payment/instrument/default/updated",
    "store/customer/updated",
    "store/hook/deliveryException",
    "store/information/updated",
    "store/inventory/location/metafield/*",
    "store/inventory/location/metafield/created",
    "store/inventory/location/metafield/deleted",
    "store/inventory/location/metafield/updated",
    "store/metafield/*",
    "store/metafield/created",
    "store/metafield/deleted",
    "store/metafield/updated",
    "store/modifier/updated",
    "store/option/updated",
    "store/order/*",
    "store/order/archived",
    "store/order/created",
    "store/order/message/created",
    "store/order/metafield/created",
    "store/order/metafield/deleted",
    "store/order/metafield/updated",
    "store/order/refund/created",
    "store/order/statusUpdated",
    "store/order/transaction/created",
    "store/order/transaction/updated",
    "store/order/updated",
    "store/product/*",
    "store/product/created",
    "store/product/deleted",
    "store/product/inventory/order/updated",
    "store/product/inventory/updated",
    "store/product/metafield/*",
    "store/product/metafield/created",
    "store/product/metafield/deleted",
    "store/product/metafield/updated",
    "store/product/updated",
    "store/product/variant/metafield/*",
    "store/product/variant/metafield/created",
    "store/product/variant/metafield/deleted",
    "store/product/variant/metafield/updated",
    "store/shipment/*",
    "store/shipment/created",
    "store/shipment/deleted",
    "store/shipment/updated",
    "store/sku/*",
    "store/sku/created",
    "store/sku/deleted",
    "store/sku/inventory/order/updated",
    "store/sku/inventory/updated",
    "store/sku/updated",
    "store/subscriber/*",
    "store/subscriber/created",
    "store/subscriber/deleted",
    "store/subscriber/updated",
];

/// Whether a subscription to `hook_scope` receives an event of `event_scope`:
/// equal scopes, or a wildcard (`store/cart/*`) over everything beneath its prefix
/// (`store/cart/*` also covers `store/cart/lineItem/created`, as BigCommerce documents).
pub fn scope_matches(hook_scope: &str, event_scope: &str) -> bool {
    match hook_scope.strip_suffix('*') {
        Some(prefix) => prefix.ends_with('/') && event_scope.starts_with(prefix),
        None => hook_scope == event_scope,
    }
}

/// A scope a hook may subscribe to, or why not.
pub fn validate_scope(scope: &str) -> Result<(), String> {
    if SCOPES.contains(&scope) {
        Ok(())
    } else {
        Err(format!(
            "`{scope}` is not a webhook scope; use one such as store/cart/created, store/cart/*, store/order/created or store/order/*."
        ))
    }
}

/// A destination a hook may deliver to, or why not. BigCommerce requires https on
/// port 443; Kassa also accepts plain http and any port so a receiver on a private
/// network (or a test on localhost) can listen.
pub fn validate_destination(destination: &str) -> Result<(), String> {
    let rest = destination
        .strip_prefix("https://")
        .or_else(|| destination.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace) => {
            Ok(())
        }
        _ => Err(format!(
            "destination `{destination}` must be an absolute https:// (or http://) URL."
        )),
    }
}

/// Why a destination address is refused, told to the merchant when a hook is saved and
/// to the operator in a delivery's error.
pub const PRIVATE_REFUSED: &str = "is a loopback, private, link-local, multicast or unspecified address; webhooks are not delivered there unless KASSA_WEBHOOK_PRIVATE_DESTINATIONS=allow";

/// The IP address a URL's host (as `Url::host_str` gives it, IPv6 in brackets) names,
/// or `None` for a host name.
pub fn host_ip(host: &str) -> Option<std::net::IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Whether a webhook may not be delivered to `ip` unless the operator allows private
/// destinations: loopback, private (RFC 1918, IPv6 unique local, shared 100.64/10),
/// link-local (169.254/16 with the cloud metadata service, fe80::/10), unspecified,
/// "this network" (0/8), broadcast and multicast addresses. An IPv4 address written as
/// IPv6 (`::ffff:a.b.c.d`) is judged as the IPv4 address.
pub fn forbidden_destination_address(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_destination_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// A custom header's name and value must be sendable as an HTTP header.
pub fn validate_header(name: &str, value: &str) -> Result<(), String> {
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    let value_ok = value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
    if !name_ok {
        Err(format!(
            "header name `{name}` is not a valid HTTP header name."
        ))
    } else if !value_ok {
        Err(format!(
            "header `{name}` has a value that cannot be sent in an HTTP header."
        ))
    } else {
        Ok(())
    }
}

/// The JSON body POSTed to a destination: BigCommerce's callback shape. `hash` is the
/// SHA-1 (hex) of the body without it, so a receiver can drop duplicates of an event.
pub fn payload(
    scope: &str,
    store_id: i64,
    store_hash: &str,
    data: Value,
    created_at: i64,
) -> String {
    use sha1::{Digest, Sha1};
    let mut body = json!({
        "scope": scope,
        "store_id": store_id.to_string(),
        "data": data,
        "created_at": created_at,
        "producer": format!("stores/{store_hash}"),
    });
    let hash = hex::encode(Sha1::digest(body.to_string().as_bytes()));
    body["hash"] = Value::String(hash);
    body.to_string()
}

/// The wait before retry number `attempts` (1 = first retry): doubling from `base_ms`,
/// capped at a day.
pub fn backoff_ms(base_ms: u64, attempts: u32) -> u64 {
    const DAY_MS: u64 = 24 * 60 * 60 * 1000;
    let factor = 1u64
        .checked_shl(attempts.saturating_sub(1).min(40))
        .unwrap_or(u64::MAX);
    base_ms.saturating_mul(factor).min(DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_forbidden_public_ones_not() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(forbidden_destination_address(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
        ] {
            assert!(!forbidden_destination_address(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn wildcards_match_everything_beneath_them() {
        assert!(scope_matches("store/cart/*", "store/cart/created"));
        assert!(scope_matches("store/cart/*", "store/cart/lineItem/created"));
        assert!(scope_matches(
            "store/cart/lineItem/*",
            "store/cart/lineItem/deleted"
        ));
        assert!(!scope_matches(
            "store/cart/lineItem/*",
            "store/cart/created"
        ));
        assert!(!scope_matches("store/cart/*", "store/order/created"));
        assert!(scope_matches("store/order/created", "store/order/created"));
        assert!(!scope_matches("store/order/created", "store/order/updated"));
    }

    #[test]
    fn scopes_and_destinations_are_checked() {
        assert!(validate_scope("store/order/statusUpdated").is_ok());
        assert!(validate_scope("store/shipment/*").is_ok());
        assert!(validate_scope("store/cart/everything").is_err());
        assert!(validate_destination("https://example.com/hooks").is_ok());
        assert!(validate_destination("http://127.0.0.1:9000/x").is_ok());
        assert!(validate_destination("ftp://example.com").is_err());
        assert!(validate_destination("https://").is_err());
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_ms(100, 1), 100);
        assert_eq!(backoff_ms(100, 2), 200);
        assert_eq!(backoff_ms(100, 4), 800);
        assert_eq!(backoff_ms(60_000, 60), 24 * 60 * 60 * 1000);
    }

    #[test]
    fn payload_has_bigcommerce_fields() {
        let p: Value = serde_json::from_str(&payload(
            "store/order/created",
            7,
            "abc",
            json!({"type": "order", "id": 1}),
            5,
        ))
        .unwrap();
        assert_eq!(p["producer"], "stores/abc");
        assert_eq!(p["store_id"], "7");
        assert_eq!(p["hash"].as_str().map(str::len), Some(40));
    }
}
