//! Pure business rules: no I/O, no clock. Everything here is testable with values.

pub mod address;
pub mod address_rules;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod checkout_settings;
pub mod countries;
pub mod coupon;
pub mod customer;
pub mod customer_address;
pub mod discount;
pub mod error;
pub mod gift_certificate;
pub mod metafield;
pub mod money;
pub mod order;
pub mod order_admin;
pub mod password;
pub mod payment;
pub mod promotion;
pub mod promotion_rules;
pub mod scope;
pub mod settings;
pub mod shipping;
pub mod tax;
pub mod webhook;

pub use error::DomainError;
pub use money::{Currency, Money};
