//! Connecting to a PostgreSQL endpoint: the endpoint's TLS connector, the
//! connection driven on a task of its own, all within [`CONNECT_TIMEOUT`],
//! and the session set up for what it is for ([`Purpose`]). The
//! `application_name` (`cutover` unless the inventory says otherwise) comes
//! with the endpoint's [`Dsn`](crate::inventory::Dsn).
//!
//! A session to read from — the gauges, the verification, the probe after a
//! cancel — starts with [`READ_ONLY`], so whatever it is asked to run, the
//! server refuses to write through it. The setting is sent as a `SET` right
//! after connecting, not as a startup `options` parameter: a PgBouncer in
//! front of the server refuses startup parameters it does not know (unless
//! listed in its `ignore_startup_parameters`, where it would drop them
//! silently). A PgBouncer *admin console* accepts no `SET` at all: it is
//! connected to by [`super::pgbouncer`], and it cannot write anyway.

use std::fmt;

use tokio_postgres::{CancelToken, Client, Config, SimpleQueryMessage};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{CONNECT_TIMEOUT, tls};
use crate::events::EndpointKind;
use crate::inventory::Endpoint;

/// The first statement of every session opened to read from.
pub const READ_ONLY: &str = "SET default_transaction_read_only = on";

/// What a session is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose<'a> {
    /// The gauges, the verification, a probe: read-only on the server
    /// ([`READ_ONLY`]), then `settings` (more `SET`s; may be empty), in one
    /// round trip.
    Reads { settings: &'a str },
    /// A runbook's steps: read-write, and the backend's pid asked for on a
    /// PostgreSQL endpoint (through a pooler the backend changes: none then),
    /// so a cancelled statement can be probed.
    Steps,
}

/// Why a connection was not made, in words an operator can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The TLS connector could not be built (a root certificate file that is
    /// missing or holds no certificate, …): the server was not tried.
    Tls(String),
    /// No answer within [`CONNECT_TIMEOUT`].
    NoAnswer,
    /// The server could not be reached or refused the connection.
    Connect(String),
    /// Connected, but the session's settings were refused.
    Settings(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Tls(message) | Error::Connect(message) => f.write_str(message),
            Error::NoAnswer => write!(f, "no answer in {}s", CONNECT_TIMEOUT.as_secs()),
            Error::Settings(message) => write!(f, "session settings: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// A connected session, and its backend's pid when [`Purpose::Steps`] asked for it.
pub struct Session {
    pub client: Client,
    pub backend: Option<i32>,
}

/// One endpoint, ready to connect to as often as needed: its TLS connector
/// is built once (it holds the loaded root certificates).
#[derive(Clone)]
pub struct Connector {
    config: Config,
    kind: EndpointKind,
    tls: MakeRustlsConnect,
}

impl Connector {
    /// # Errors
    /// [`Error::Tls`]: the endpoint's TLS settings cannot be acted on.
    pub fn new(endpoint: &Endpoint) -> Result<Self, Error> {
        let tls = tls::make_connect(&endpoint.dsn.tls).map_err(|e| Error::Tls(format!("{e:#}")))?;
        Ok(Self { config: endpoint.dsn.config.clone(), kind: endpoint.kind, tls })
    }

    /// Connect, drive the connection on its own task, and set the session
    /// up for `purpose`, all within [`CONNECT_TIMEOUT`].
    ///
    /// # Errors
    /// No answer in time, the server unreachable or refusing, or refusing
    /// the session's settings: which, in the [`Error`].
    pub async fn connect(&self, purpose: Purpose<'_>) -> Result<Session, Error> {
        tokio::time::timeout(CONNECT_TIMEOUT, self.open(purpose)).await.map_err(|_| Error::NoAnswer)?
    }

    async fn open(&self, purpose: Purpose<'_>) -> Result<Session, Error> {
        let client = self.bare().await?;
        let backend = match purpose {
            Purpose::Reads { settings } => {
                let batch = if settings.is_empty() { READ_ONLY.to_owned() } else { format!("{READ_ONLY}; {settings}") };
                client.batch_execute(&batch).await.map_err(|e| Error::Settings(short_error(&e)))?;
                None
            }
            Purpose::Steps if self.kind == EndpointKind::Postgres => backend_pid(&client).await,
            Purpose::Steps => None,
        };
        Ok(Session { client, backend })
    }

    /// The connection alone, nothing sent on it yet (no timeout: the caller's).
    pub(super) async fn bare(&self) -> Result<Client, Error> {
        let (client, connection) =
            self.config.connect(self.tls.clone()).await.map_err(|e| Error::Connect(short_error(&e)))?;
        tokio::spawn(async move {
            // Ends when the connection does; errors surface on the next query.
            let _ = connection.await;
        });
        Ok(client)
    }

    /// Ask the server to cancel what the session of `token` runs (on a
    /// connection of its own, with the endpoint's TLS; no timeout: the caller's).
    ///
    /// # Errors
    /// The cancel request could not be sent.
    pub async fn cancel(&self, token: &CancelToken) -> Result<(), Error> {
        token.cancel_query(self.tls.clone()).await.map_err(|e| Error::Connect(short_error(&e)))
    }
}

/// Connect once to `endpoint` for `purpose` (see [`Connector::connect`]).
///
/// # Errors
/// As [`Connector::new`] and [`Connector::connect`].
pub async fn connect(endpoint: &Endpoint, purpose: Purpose<'_>) -> Result<Session, Error> {
    Connector::new(endpoint)?.connect(purpose).await
}

/// The session's backend pid; `None` when the server does not say.
async fn backend_pid(client: &Client) -> Option<i32> {
    let messages = client.simple_query("SELECT pg_backend_pid()").await.ok()?;
    messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get(0).and_then(|p| p.parse().ok()),
        _ => None,
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_the_callers_always_said_them() {
        assert_eq!(Error::NoAnswer.to_string(), format!("no answer in {}s", CONNECT_TIMEOUT.as_secs()));
        assert_eq!(Error::Settings("nope (42501)".to_owned()).to_string(), "session settings: nope (42501)");
        assert_eq!(Error::Connect("connection refused".to_owned()).to_string(), "connection refused");
        assert_eq!(
            Error::Tls("root certificate file /x: gone".to_owned()).to_string(),
            "root certificate file /x: gone"
        );
    }
}
