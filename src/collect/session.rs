//! Opening a PostgreSQL session to read from: the gauges' collectors and the
//! verification engine both connect here. Every such session starts with
//! `default_transaction_read_only = on`, so whatever it is asked to run, the
//! server refuses to write through it.
//!
//! The setting is sent as a `SET` right after connecting, not as a startup
//! `options` parameter: a PgBouncer in front of the server refuses startup
//! parameters it does not know (unless listed in its
//! `ignore_startup_parameters`, where it would drop them silently). A
//! PgBouncer *admin console* accepts no `SET` at all; its collector does not
//! come here, and the console cannot write anyway.

use tokio_postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::short_error;
use crate::inventory::Endpoint;

/// The first statement of every session opened here.
pub const READ_ONLY: &str = "SET default_transaction_read_only = on";

/// Connect to `endpoint`, drive the connection on its own task, and run
/// [`READ_ONLY`] then `settings` (more `SET`s, may be empty) in one round trip.
///
/// # Errors
/// The server cannot be reached or refuses the settings: one line for the
/// operator, saying which.
pub async fn open_read_only(
    endpoint: &Endpoint,
    connector: MakeRustlsConnect,
    settings: &str,
) -> Result<Client, String> {
    let (client, connection) = endpoint.dsn.config.connect(connector).await.map_err(|e| short_error(&e))?;
    tokio::spawn(async move {
        // Ends when the connection does; errors surface on the next query.
        let _ = connection.await;
    });
    let batch = if settings.is_empty() { READ_ONLY.to_owned() } else { format!("{READ_ONLY}; {settings}") };
    client.batch_execute(&batch).await.map_err(|e| format!("session settings: {}", short_error(&e)))?;
    Ok(client)
}
