//! Connecting to a PgBouncer's admin console (`dbname=pgbouncer`): the
//! collectors read `SHOW POOLS` there, the runbook's pooler steps send
//! `PAUSE`, `RESUME`, `RELOAD`. The console speaks only the simple query
//! protocol (`Client::simple_query`, `batch_execute`; nothing prepared) and
//! accepts no `SET`, so the session is left as it comes; nothing written
//! through it reaches a database.

use tokio_postgres::Client;

use super::CONNECT_TIMEOUT;
use super::postgres::{Connector, Error};

/// Connect to the console `connector` points at, within [`CONNECT_TIMEOUT`],
/// the connection driven on a task of its own.
///
/// # Errors
/// No answer in time, or the console unreachable or refusing.
pub async fn connect(connector: &Connector) -> Result<Client, Error> {
    tokio::time::timeout(CONNECT_TIMEOUT, connector.bare()).await.map_err(|_| Error::NoAnswer)?
}
