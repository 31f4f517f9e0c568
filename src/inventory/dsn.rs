//! libpq-style connection strings, in both spellings:
//!
//! * `host=db1 port=5432 user=cutover dbname=app sslmode=require` — values may
//!   be single-quoted, `\'` and `\\` escape, spaces around `=` are allowed;
//! * `postgres://user:pass@host:port/db?sslmode=verify-full&sslrootcert=/ca.pem`
//!   (or `postgresql://`), percent-encoded.
//!
//! We parse them ourselves rather than through `tokio_postgres::Config`'s
//! parser, because that one rejects libpq keys it does not know
//! (`sslrootcert`, `verify-full`, …). libpq's TLS keys go to [`TlsOptions`];
//! everything tokio-postgres understands goes to [`Dsn::config`]; keys that
//! would change security or authentication if dropped (client certificates,
//! CRLs, `require_auth`, `service`, …) are refused with a message; harmless
//! ones (`sslcompression`, `krbsrvname`, …) are accepted and listed in
//! [`Dsn::ignored`]. A later key overrides an earlier one, as in libpq.
//!
//! Defaults, as libpq, only where the string says nothing (an empty value
//! counts as nothing): `PGHOST` else `localhost` (libpq would use its socket
//! directory), `PGPORT` else 5432, `PGUSER` else the OS user (`USER`,
//! `LOGNAME`, `USERNAME`, else the effective uid's name in `/etc/passwd`
//! on Linux), `PGDATABASE` else the user, `PGSSLMODE` else
//! `prefer` (`verify-full` with `sslrootcert=system`), `PGSSLROOTCERT`.
//! `PGPASSWORD` is not read here. We add `application_name=cutover` unless
//! the string gives one. A `connect_timeout` the string gives limits each
//! attempt; the whole connection is limited by `crate::endpoint`.
//!
//! Error messages name the key and show the offending value — never for
//! `password` or keys we do not know (they could be secrets).

mod spelling;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio_postgres::Config;
use tokio_postgres::config::{ChannelBinding, LoadBalanceHosts, SslNegotiation, TargetSessionAttrs};

use super::tls::{SYSTEM_ROOTS, SslMode, TlsOptions};
use spelling::{keyword_pairs, quote, url_pairs};

/// The application name we announce unless the string gives one.
pub const APPLICATION_NAME: &str = "cutover";
/// What [`Dsn::masked`] and `Debug` show instead of a password.
pub use crate::secrets::MASK;

/// Keys accepted and ignored: they change nothing we rely on.
const IGNORED: [&str; 7] =
    ["sslcompression", "sslsni", "krbsrvname", "gsslib", "gssdelegation", "sslkeylogfile", "ssl_max_protocol_version"];

/// A parsed connection string, with defaults applied.
#[derive(Clone)]
pub struct Dsn {
    /// Ready to connect with (`crate::endpoint` connects with it and [`Dsn::tls`]).
    pub config: Config,
    /// libpq's TLS settings, for the endpoint's TLS connector.
    pub tls: TlsOptions,
    /// The host name, IP address or socket directory (the `hostaddr` when only
    /// that was given). This is the name `.pgpass` is matched against.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The user name.
    pub user: String,
    /// The database name.
    pub dbname: String,
    /// libpq's `passfile`: a password file to use instead of the default
    /// (`pgpass::default_path`).
    pub passfile: Option<PathBuf>,
    /// Keys that were accepted but have no effect here, in key order.
    pub ignored: Vec<String>,
    password: Option<String>,
}

impl Dsn {
    /// The password the connection string gave (or [`Dsn::set_password`] set).
    #[must_use]
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// Set the password, on [`Dsn::config`] too (e.g. from `.pgpass`).
    pub fn set_password(&mut self, pw: &str) {
        self.password = Some(pw.to_string());
        self.config.password(pw);
    }

    /// A `key=value` form safe to show and log: the password, if there is
    /// one, is `******`.
    #[must_use]
    pub fn masked(&self) -> String {
        self.render(Some(MASK))
    }

    /// A `key=value` connection string for libpq (`psql`, `CREATE
    /// SUBSCRIPTION … CONNECTION`): with the password, or without it (for a
    /// command line, where the process list would show it).
    #[must_use]
    pub fn libpq(&self, with_password: bool) -> String {
        let password = if with_password { self.password.clone() } else { None };
        self.render(password.as_deref())
    }

    fn render(&self, password: Option<&str>) -> String {
        let mut parts = vec![
            format!("host={}", quote(&self.host)),
            format!("port={}", self.port),
            format!("user={}", quote(&self.user)),
            format!("dbname={}", quote(&self.dbname)),
        ];
        if let Some(addr) = self.config.get_hostaddrs().first() {
            parts.push(format!("hostaddr={addr}"));
        }
        parts.push(format!("sslmode={}", self.tls.mode));
        if let Some(root) = &self.tls.root_cert {
            parts.push(format!("sslrootcert={}", quote(&root.display().to_string())));
        }
        if let (Some(shown), Some(_)) = (password, &self.password) {
            parts.push(format!("password={}", quote(shown)));
        }
        parts.join(" ")
    }
}

impl fmt::Debug for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dsn")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .field("password", &self.password.as_ref().map(|_| MASK))
            .field("tls", &self.tls)
            .field("passfile", &self.passfile)
            .field("ignored", &self.ignored)
            // tokio-postgres redacts the password in its own Debug.
            .field("config", &self.config)
            .finish()
    }
}

/// Parse a connection string, with defaults from the process environment.
///
/// # Errors
/// A message naming the key (and, except for secrets, the value) at fault.
pub fn parse(text: &str) -> Result<Dsn, String> {
    parse_with_env(text, |key| std::env::var(key).ok())
}

/// Parse a connection string, with defaults from `env` (`PGHOST`, `PGPORT`,
/// `PGUSER`, `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`, and `USER` /
/// `LOGNAME` / `USERNAME` for the OS user, then `/etc/passwd` on Linux).
///
/// # Errors
/// A message naming the key (and, except for secrets, the value) at fault.
pub fn parse_with_env(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Dsn, String> {
    parse_inner(text, env, os_user_from_passwd)
}

/// [`parse_with_env`], with the last-resort OS user lookup made explicit.
fn parse_inner(
    text: &str,
    env: impl Fn(&str) -> Option<String>,
    os_user: impl FnOnce() -> Option<String>,
) -> Result<Dsn, String> {
    let env = |key: &str| env(key).filter(|value| !value.is_empty());
    let trimmed = text.trim();
    let pairs = if let Some(rest) = ["postgres://", "postgresql://"].iter().find_map(|p| trimmed.strip_prefix(p)) {
        url_pairs(rest)?
    } else {
        keyword_pairs(text)?
    };
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in pairs {
        params.insert(key, value);
    }
    build(params, &env, os_user)
}

/// The name of the effective user in `/etc/passwd` (what libpq's
/// `getpwuid(geteuid())` finds for local accounts), for when no environment
/// variable names the user. Linux only (`/proc/self` gives the uid without
/// unsafe code); `None` elsewhere or for accounts not in the file.
fn os_user_from_passwd() -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            (fields.nth(1)? == uid && !name.is_empty()).then(|| name.to_string())
        })
    }
    #[cfg(not(unix))]
    None
}

/// Everything a connection string may set, before defaults.
#[derive(Default)]
struct Given {
    host: Option<String>,
    hostaddr: Option<IpAddr>,
    port: Option<u16>,
    user: Option<String>,
    password: Option<String>,
    dbname: Option<String>,
    sslmode: Option<SslMode>,
    sslrootcert: Option<PathBuf>,
    passfile: Option<PathBuf>,
    application_name: Option<String>,
    fallback_application_name: Option<String>,
    connect_timeout: Option<Duration>,
    ssl_negotiation: Option<SslNegotiation>,
    ignored: Vec<String>,
}

fn build(
    params: BTreeMap<String, String>,
    env: &impl Fn(&str) -> Option<String>,
    os_user: impl FnOnce() -> Option<String>,
) -> Result<Dsn, String> {
    let mut config = Config::new();
    let mut given = Given::default();
    for (key, value) in params {
        apply(&mut config, &mut given, &key, value)?;
    }

    let host_given = match given.host {
        Some(host) => Some(host),
        None => env("PGHOST").map(|host| check_host("PGHOST", host)).transpose()?,
    };
    let host = match (&host_given, given.hostaddr) {
        (Some(host), _) => host.clone(),
        (None, Some(addr)) => addr.to_string(),
        (None, None) => "localhost".to_string(),
    };
    let port = match given.port {
        Some(port) => port,
        None => env("PGPORT").map(|port| parse_port("PGPORT", &port)).transpose()?.unwrap_or(5432),
    };
    let user = given
        .user
        .or_else(|| env("PGUSER"))
        .or_else(|| env("USER"))
        .or_else(|| env("LOGNAME"))
        .or_else(|| env("USERNAME"))
        .or_else(os_user)
        .ok_or("no user name: give user= in the connection string or set PGUSER")?;
    let dbname = given.dbname.or_else(|| env("PGDATABASE")).unwrap_or_else(|| user.clone());
    let root_cert = given.sslrootcert.or_else(|| env("PGSSLROOTCERT").map(PathBuf::from));
    let system_roots = root_cert.as_deref().is_some_and(|root| root == std::path::Path::new(SYSTEM_ROOTS));
    let mode = match given.sslmode {
        Some(mode) => mode,
        None => match env("PGSSLMODE") {
            Some(mode) => parse_sslmode("PGSSLMODE", &mode)?,
            None if system_roots => SslMode::VerifyFull,
            None => SslMode::Prefer,
        },
    };

    if system_roots && mode != SslMode::VerifyFull {
        return Err(format!("weak sslmode `{mode}` may not be used with sslrootcert=system (use `verify-full`)"));
    }
    if given.ssl_negotiation == Some(SslNegotiation::Direct)
        && matches!(mode, SslMode::Disable | SslMode::Allow | SslMode::Prefer)
    {
        return Err(format!(
            "weak sslmode `{mode}` may not be used with sslnegotiation=direct (use `require`, `verify-ca` or `verify-full`)"
        ));
    }
    if mode == SslMode::VerifyFull && host_given.is_none() && given.hostaddr.is_some() {
        return Err(
            "sslmode=verify-full needs host= (the name the certificate is checked against), not only hostaddr="
                .to_string(),
        );
    }

    if host_given.is_some() || given.hostaddr.is_none() {
        config.host(&host);
    }
    if let Some(addr) = given.hostaddr {
        config.hostaddr(addr);
    }
    config.port(port).user(&user).dbname(&dbname);
    if let Some(password) = &given.password {
        config.password(password);
    }
    // libpq never uses TLS through a Unix socket, whatever sslmode says.
    let socket = cfg!(unix) && host_given.as_deref().is_some_and(|host| host.starts_with('/'));
    config.ssl_mode(if socket { tokio_postgres::config::SslMode::Disable } else { mode.to_tokio() });
    config.application_name(
        given.application_name.or(given.fallback_application_name).unwrap_or_else(|| APPLICATION_NAME.to_string()),
    );
    if let Some(timeout) = given.connect_timeout {
        config.connect_timeout(timeout);
    }
    if let Some(negotiation) = given.ssl_negotiation {
        config.ssl_negotiation(negotiation);
    }

    Ok(Dsn {
        config,
        tls: TlsOptions { mode, root_cert },
        host,
        port,
        user,
        dbname,
        passfile: given.passfile,
        ignored: given.ignored,
        password: given.password,
    })
}

/// Take one `key=value` into `given` or straight into `config`.
fn apply(config: &mut Config, given: &mut Given, key: &str, value: String) -> Result<(), String> {
    let set = |value: String| (!value.is_empty()).then_some(value);
    match key {
        "host" => given.host = set(value).map(|host| check_host("host", host)).transpose()?,
        "hostaddr" => {
            given.hostaddr = set(value)
                .map(|addr| {
                    if addr.contains(',') {
                        return Err(format!(
                            "`hostaddr`: `{addr}` lists several addresses; cutover needs one host per endpoint"
                        ));
                    }
                    addr.trim().parse().map_err(|_| format!("`hostaddr`: `{addr}` is not an IP address"))
                })
                .transpose()?;
        }
        "port" => given.port = set(value).map(|port| parse_port("port", &port)).transpose()?,
        "user" => given.user = set(value),
        "password" => given.password = set(value),
        "dbname" => given.dbname = set(value),
        "sslmode" => given.sslmode = set(value).map(|mode| parse_sslmode("sslmode", &mode)).transpose()?,
        "sslrootcert" => given.sslrootcert = set(value).map(PathBuf::from),
        "passfile" => given.passfile = set(value).map(PathBuf::from),
        "application_name" => given.application_name = Some(value),
        "fallback_application_name" => given.fallback_application_name = Some(value),
        "options" => {
            config.options(value);
        }
        "connect_timeout" => given.connect_timeout = seconds(key, &value)?,
        "tcp_user_timeout" => {
            // Milliseconds, as in libpq (tokio-postgres's own parser reads seconds).
            let ms = int(key, &value)?;
            if ms > 0 {
                config.tcp_user_timeout(Duration::from_millis(ms.unsigned_abs()));
            }
        }
        "keepalives" => {
            config.keepalives(int(key, &value)? != 0);
        }
        "keepalives_idle" => {
            if let Some(idle) = seconds(key, &value)? {
                config.keepalives_idle(idle);
            }
        }
        "keepalives_interval" => {
            if let Some(interval) = seconds(key, &value)? {
                config.keepalives_interval(interval);
            }
        }
        "keepalives_count" | "keepalives_retries" => {
            let count = int(key, &value)?;
            let count = u32::try_from(count).map_err(|_| format!("`{key}`: `{value}` is not a count"))?;
            config.keepalives_retries(count);
        }
        "target_session_attrs" => {
            config.target_session_attrs(match value.as_str() {
                "any" => TargetSessionAttrs::Any,
                "read-write" => TargetSessionAttrs::ReadWrite,
                "read-only" => TargetSessionAttrs::ReadOnly,
                _ => {
                    return Err(format!(
                        "`target_session_attrs`: `{value}` is not supported (expected any, read-write or read-only)"
                    ));
                }
            });
        }
        "channel_binding" => {
            config.channel_binding(match value.as_str() {
                "disable" => ChannelBinding::Disable,
                "prefer" => ChannelBinding::Prefer,
                "require" => ChannelBinding::Require,
                _ => return Err(format!("`channel_binding`: `{value}` (expected disable, prefer or require)")),
            });
        }
        "load_balance_hosts" => {
            config.load_balance_hosts(match value.as_str() {
                "disable" => LoadBalanceHosts::Disable,
                "random" => LoadBalanceHosts::Random,
                _ => return Err(format!("`load_balance_hosts`: `{value}` (expected disable or random)")),
            });
        }
        "sslnegotiation" => {
            given.ssl_negotiation = Some(match value.as_str() {
                "postgres" => SslNegotiation::Postgres,
                "direct" => SslNegotiation::Direct,
                _ => return Err(format!("`sslnegotiation`: `{value}` (expected postgres or direct)")),
            });
        }
        "client_encoding" => match value.to_ascii_uppercase().as_str() {
            "UTF8" | "UTF-8" | "AUTO" => given.ignored.push(key.to_string()),
            _ => return Err(format!("`client_encoding`: `{value}` is not supported (cutover always speaks UTF8)")),
        },
        "gssencmode" => match value.as_str() {
            "disable" | "prefer" => given.ignored.push(key.to_string()),
            "require" => return Err("`gssencmode=require`: GSSAPI encryption is not supported".to_string()),
            _ => return Err(format!("`gssencmode`: `{value}` (expected disable, prefer or require)")),
        },
        "sslcertmode" => match value.as_str() {
            "disable" | "allow" => given.ignored.push(key.to_string()),
            "require" => return Err("`sslcertmode=require`: client certificates are not supported".to_string()),
            _ => return Err(format!("`sslcertmode`: `{value}` (expected disable, allow or require)")),
        },
        "ssl_min_protocol_version" => match value.as_str() {
            // rustls never goes below TLS 1.2.
            "TLSv1" | "TLSv1.1" | "TLSv1.2" => given.ignored.push(key.to_string()),
            "TLSv1.3" => {
                return Err("`ssl_min_protocol_version=TLSv1.3` is not supported (TLS 1.2 is allowed)".to_string());
            }
            _ => {
                return Err(format!(
                    "`ssl_min_protocol_version`: `{value}` (expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)"
                ));
            }
        },
        "sslcert" | "sslkey" | "sslpassword" => {
            return Err(format!("`{key}`: client certificates are not supported"));
        }
        "sslcrl" | "sslcrldir" => {
            return Err(format!("`{key}`: certificate revocation lists are not supported"));
        }
        "service" => {
            return Err(
                "`service`: service files (pg_service.conf) are not supported; spell the parameters out".to_string()
            );
        }
        "replication" | "require_auth" | "requirepeer" => return Err(format!("`{key}` is not supported")),
        key if IGNORED.contains(&key) => given.ignored.push(key.to_string()),
        // The value is not shown: it could be a secret.
        _ => return Err(format!("unknown connection parameter `{key}`")),
    }
    Ok(())
}

fn check_host(key: &str, host: String) -> Result<String, String> {
    if host.contains(',') {
        return Err(format!("`{key}`: `{host}` lists several hosts; cutover needs one host per endpoint"));
    }
    if host.contains('=') {
        return Err(format!("`{key}`: `{host}` is not a host name (an empty value must be quoted: {key}='')"));
    }
    Ok(host)
}

fn parse_port(key: &str, value: &str) -> Result<u16, String> {
    if value.contains(',') {
        return Err(format!("`{key}`: `{value}` lists several ports; cutover needs one host per endpoint"));
    }
    match value.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("`{key}`: `{value}` is not a port number (1-65535)")),
    }
}

fn parse_sslmode(key: &str, value: &str) -> Result<SslMode, String> {
    SslMode::parse(value).ok_or_else(|| {
        let all: Vec<&str> = SslMode::ALL.iter().map(|mode| mode.as_str()).collect();
        format!("`{key}`: `{value}` is not an sslmode (expected one of {})", all.join(", "))
    })
}

fn int(key: &str, value: &str) -> Result<i64, String> {
    value.trim().parse().map_err(|_| format!("`{key}`: `{value}` is not a whole number"))
}

/// A libpq number of seconds; zero or less means "none".
fn seconds(key: &str, value: &str) -> Result<Option<Duration>, String> {
    let n = int(key, value)?;
    Ok((n > 0).then(|| Duration::from_secs(n.unsigned_abs())))
}

#[cfg(test)]
mod tests;
