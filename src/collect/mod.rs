//! The real collectors: PostgreSQL, PgBouncer, MongoDB and the local
//! disks, publishing the same [`Sample`](crate::events::Sample)s as the
//! simulator. One connection per endpoint, `application_name = 'cutover'`, a
//! `statement_timeout` on every query, read-only on the server
//! ([`session`]), cheap catalog queries only, capped backoff on failure. Nothing here knows about the screen.

pub mod disk;
mod harness;
pub mod mongo;
pub mod pgbouncer;
pub mod postgres;
pub mod session;

pub use harness::{
    BACKOFF_CAP, BACKOFF_FIRST, CONNECT_TIMEOUT, Collector, ROUND_TIMEOUT, STATEMENT_TIMEOUT_MS, clock, sample_once,
    spawn,
};

/// A database error as one line an operator can act on: the server's message
/// (and SQLSTATE) when it sent one, else the client's.
#[must_use]
pub fn short_error(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}
