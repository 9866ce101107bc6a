//! Kassa: a headless cart and checkout engine that speaks BigCommerce's APIs.
//!
//! Layers, each depending only on the ones below it:
//! `http` (routes, wire types) → `service` (use cases) → `domain` (pure rules) → `store` (persistence).

pub mod clock;
pub mod dispatcher;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
