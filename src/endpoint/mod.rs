//! Connecting to an endpoint, one module per engine: PostgreSQL sessions
//! ([`postgres`]), PgBouncer's admin console ([`pgbouncer`]) and MongoDB
//! clients ([`mongo`]), MySQL and MariaDB sessions ([`mysql`]), on the TLS connector of [`tls`]. Whatever connects —
//! the collectors, the verification, the runbook's executor — connects here,
//! so every connection has the same timeout, `application_name` and TLS
//! checks, and a session to read from is read-only on the server.
//!
//! It knows the inventory (what to connect to) and nothing above it.

use std::time::Duration;

pub mod mongo;
pub mod mysql;
pub mod pgbouncer;
pub mod postgres;
pub mod tls;

/// The longest a connection attempt may take, session set-up included.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
