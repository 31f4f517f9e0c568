//! Connecting to an endpoint, one module per engine: the TLS connector
//! ([`tls`]), PostgreSQL sessions, PgBouncer's admin console and MongoDB
//! clients. Whatever connects — the collectors, the verification, the
//! runbook's executor — connects here, so every connection has the same
//! timeout, `application_name` and TLS checks.
//!
//! It knows the inventory (what to connect to) and nothing above it.

pub mod tls;
