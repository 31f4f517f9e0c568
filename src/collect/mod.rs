//! The real collectors: PostgreSQL, PgBouncer, MongoDB, MySQL/MariaDB and the local
//! disks, publishing the same [`Sample`](crate::events::Sample)s as the
//! simulator. One connection per endpoint, `application_name = 'cutover'`, a
//! `statement_timeout` on every query, read-only on the server
//! ([`crate::endpoint::postgres`]), cheap catalog queries only, capped backoff on failure. Nothing here knows about the screen.

pub mod backup;
pub mod disk;
mod harness;
pub mod mongo;
pub mod mysql;
pub mod pgbouncer;
pub mod postgres;

pub use harness::{
    BACKOFF_CAP, BACKOFF_FIRST, Collector, ROUND_TIMEOUT, STATEMENT_TIMEOUT_MS, clock, sample_once, spawn,
};
