//! Connecting to a MySQL or MariaDB endpoint: one `mysql_async` connection
//! (no pool), TLS as the URL's `ssl-mode` says, within [`CONNECT_TIMEOUT`],
//! the connection attribute `program_name=cutover`, the session's time zone
//! UTC and, for a session to read from, `SET SESSION TRANSACTION READ ONLY`
//! and a statement time limit. MySQL 8 and MariaDB differ in that limit
//! (`max_execution_time` in milliseconds, SELECT only, against
//! `max_statement_time` in seconds, every statement) and in the names of the
//! replica's status columns ([`crate::collect::mysql`]); the rest of what
//! cutover sends is what both understand.
//!
//! The password goes to the driver as an option, never in a URL or on a
//! command line.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, SslOpts};

use super::CONNECT_TIMEOUT;
pub use super::postgres::Error;
use crate::inventory::MysqlUrl;
use crate::inventory::mysql_url::SslMode;

/// Which server of the family answered (they differ in a few names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Mysql,
    Mariadb,
}

/// What a session is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose<'a> {
    /// The gauges, the verification: read-only transactions, statements cut
    /// off after `statement_limit` (none: no limit), then `settings` (more
    /// `SET`s).
    Reads { statement_limit: Option<Duration>, settings: &'a [&'a str] },
    /// A runbook's steps: read-write, no time limit but the step's own.
    Steps,
}

/// A connected session.
pub struct Session {
    pub conn: Conn,
    pub flavor: Flavor,
    /// `SELECT VERSION()`: `10.11.19-MariaDB-0+deb12u1-log`, `8.0.36`, …
    pub version: String,
}

impl Session {
    /// The server's id for this session (`CONNECTION_ID()`), what
    /// `KILL QUERY` takes.
    #[must_use]
    pub fn id(&self) -> u32 {
        self.conn.id()
    }
}

/// A session on `url`.
///
/// # Errors
/// No answer in time, a refused connection or TLS, or refused settings.
pub async fn connect(url: &MysqlUrl, purpose: Purpose<'_>) -> Result<Session, Error> {
    match tokio::time::timeout(CONNECT_TIMEOUT, open(url, purpose)).await {
        Ok(result) => result,
        Err(_) => Err(Error::NoAnswer),
    }
}

async fn open(url: &MysqlUrl, purpose: Purpose<'_>) -> Result<Session, Error> {
    let conn = match url.ssl_mode {
        SslMode::Disabled => plain(url).await?,
        SslMode::Preferred => match Conn::new(options(url, Some(ssl(url)?))).await {
            Err(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)) => plain(url).await?,
            other => other.map_err(|e| Error::Connect(short_error(&e)))?,
        },
        _ => Conn::new(options(url, Some(ssl(url)?))).await.map_err(|e| Error::Connect(short_error(&e)))?,
    };
    let mut session = Session { conn, flavor: Flavor::Mysql, version: String::new() };
    session.version = session
        .conn
        .query_first::<String, _>("SELECT VERSION()")
        .await
        .map_err(|e| Error::Settings(short_error(&e)))?
        .unwrap_or_default();
    if session.version.contains("MariaDB") {
        session.flavor = Flavor::Mariadb;
    }
    let mut statements = vec!["SET time_zone = '+00:00'".to_owned()];
    if let Purpose::Reads { statement_limit, settings } = purpose {
        statements.push("SET SESSION TRANSACTION READ ONLY".to_owned());
        if let Some(limit) = statement_limit {
            statements.push(match session.flavor {
                Flavor::Mariadb => format!("SET SESSION max_statement_time = {}", limit.as_secs_f64()),
                Flavor::Mysql => format!("SET SESSION max_execution_time = {}", limit.as_millis()),
            });
        }
        statements.extend(settings.iter().map(|s| (*s).to_owned()));
    }
    session.conn.query_drop(statements.join("; ")).await.map_err(|e| Error::Settings(short_error(&e)))?;
    Ok(session)
}

async fn plain(url: &MysqlUrl) -> Result<Conn, Error> {
    Conn::new(options(url, None)).await.map_err(|e| Error::Connect(short_error(&e)))
}

fn options(url: &MysqlUrl, ssl: Option<SslOpts>) -> OptsBuilder {
    OptsBuilder::default()
        .ip_or_hostname(url.host.clone())
        .tcp_port(url.port)
        .user(Some(url.user.clone()))
        .pass(url.password().map(str::to_owned))
        .db_name(Some(url.database.clone()).filter(|d| !d.is_empty()))
        .prefer_socket(false)
        .tcp_nodelay(true)
        .stmt_cache_size(0)
        .connect_attribute("program_name", "cutover")
        .ssl_opts(ssl)
}

/// TLS as the URL's mode says: unverified for PREFERRED and REQUIRED (as the
/// `mysql` client), the chain for VERIFY_CA, the chain and the host name for
/// VERIFY_IDENTITY; `ssl-ca` instead of the built-in roots when given.
fn ssl(url: &MysqlUrl) -> Result<SslOpts, Error> {
    let mut opts = SslOpts::default();
    if let Some(ca) = &url.ssl_ca {
        if !ca.is_file() {
            return Err(Error::Tls(format!("ssl-ca {} is not a readable file", ca.display())));
        }
        opts = opts.with_root_certs(vec![ca.clone().into()]).with_disable_built_in_roots(true);
    }
    Ok(match url.ssl_mode {
        SslMode::Disabled | SslMode::Preferred | SslMode::Required => opts.with_danger_accept_invalid_certs(true),
        SslMode::VerifyCa => opts.with_danger_skip_domain_validation(true),
        SslMode::VerifyIdentity => opts,
    })
}

/// A driver error as one line: the server's code and message when it sent one.
#[must_use]
pub fn short_error(error: &mysql_async::Error) -> String {
    match error {
        mysql_async::Error::Server(e) => format!("ERROR {}: {}", e.code, e.message),
        mysql_async::Error::Io(e) => e.to_string().lines().next().unwrap_or_default().to_owned(),
        other => other.to_string().lines().next().unwrap_or_default().to_owned(),
    }
}

/// The server's error code, when it sent one.
#[must_use]
pub fn error_code(error: &mysql_async::Error) -> Option<u16> {
    match error {
        mysql_async::Error::Server(e) => Some(e.code),
        _ => None,
    }
}
