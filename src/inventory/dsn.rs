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

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio_postgres::Config;
use tokio_postgres::config::{ChannelBinding, LoadBalanceHosts, SslNegotiation, TargetSessionAttrs};

use super::tls::{SYSTEM_ROOTS, SslMode, TlsOptions};

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

/// Quote a value for the `key=value` form when it needs it.
fn quote(value: &str) -> String {
    if !value.is_empty() && !value.chars().any(|c| c.is_whitespace() || c == '\'' || c == '\\') {
        return value.to_string();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// The `key=value` spelling: whitespace-separated pairs, values optionally
/// single-quoted, backslash escapes in both quoted and bare values.
fn keyword_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut chars = text.chars().peekable();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_ws(&mut chars);
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|&c| !c.is_whitespace() && c != '=') {
            key.push(c);
        }
        skip_ws(&mut chars);
        if chars.next_if_eq(&'=').is_none() {
            let after_password = pairs.last().is_some_and(|(k, _)| k == "password");
            return Err(if after_password {
                // The stray word is probably the rest of the password.
                "expected key=value after the password (quote values containing spaces: password='…')".to_string()
            } else if pairs.is_empty() && !text.contains('=') {
                "expected key=value pairs (host=… dbname=…) or a postgres:// URL".to_string()
            } else {
                format!("expected `=` after `{key}`")
            });
        }
        if key.is_empty() {
            return Err("a `=` without a key before it".to_string());
        }
        skip_ws(&mut chars);
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => return Err(format!("unterminated quoted value for `{key}`")),
                    Some('\'') => break,
                    Some('\\') => {
                        if let Some(c) = chars.next() {
                            value.push(c);
                        }
                    }
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some(c) = chars.next() {
                        value.push(c);
                    }
                } else {
                    value.push(c);
                }
            }
            if value.is_empty() {
                return Err(format!("missing value for `{key}` (an empty value is written {key}='')"));
            }
        }
        pairs.push((key, value));
    }
}

/// The URL spelling, after `postgres://`:
/// `[user[:password]@][host][:port][/dbname][?key=value&…]`.
fn url_pairs(rest: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let (before, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match before.find('/') {
        Some(at) => (&before[..at], Some(&before[at + 1..])),
        None => (before, None),
    };
    if path.is_some_and(|path| path.contains('@')) {
        return Err("the URL has an `@` after the host: percent-encode `/`, `?` and `@` in the user name or password (%2F, %3F, %40)".to_string());
    }
    let hostport = match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            pairs.push(("user".to_string(), decode("user", user)?));
            if let Some(password) = password {
                pairs.push(("password".to_string(), decode("password", password)?));
            }
            hostport
        }
        None => authority,
    };
    if hostport.contains(',') {
        return Err("the URL lists several hosts; cutover needs one host per endpoint".to_string());
    }
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) =
            bracketed.split_once(']').ok_or_else(|| format!("`host`: `{hostport}` has no closing `]`"))?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("`host`: unexpected `{after}` after `[{host}]`")),
            },
        }
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    pairs.push(("host".to_string(), decode("host", host)?));
    if let Some(port) = port {
        pairs.push(("port".to_string(), decode("port", port)?));
    }
    if let Some(path) = path {
        pairs.push(("dbname".to_string(), decode("dbname", path)?));
    }
    for item in query.unwrap_or("").split('&').filter(|item| !item.is_empty()) {
        let (key, value) = item.split_once('=').ok_or_else(|| {
            // Shown only if it looks like a key: it could be a stray part of a password.
            if item.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                format!("URL parameter `{item}` has no value (expected key=value)")
            } else {
                "a URL parameter has no value (expected key=value; percent-encode `?`, `/` and `@` in a password)"
                    .to_string()
            }
        })?;
        let key = decode("a URL parameter name", key)?;
        let value = decode(&key, value)?;
        // libpq's JDBC-compatible spelling.
        if key == "ssl" && value == "true" {
            pairs.push(("sslmode".to_string(), "require".to_string()));
        } else {
            pairs.push((key, value));
        }
    }
    Ok(pairs)
}

/// Percent-decode a URL part into UTF-8; the message never shows the text.
fn decode(what: &str, text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
            match byte {
                Some(byte) => {
                    out.push(byte);
                    i += 3;
                }
                None => {
                    return Err(format!(
                        "bad percent-encoding in the URL's `{what}` (a `%` must be followed by two hex digits)"
                    ));
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("the URL's `{what}` is not UTF-8 once percent-decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio_postgres::config::Host;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
        move |key| vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    /// Only the OS user is set: everything else must come from the string.
    fn bare(text: &str) -> Result<Dsn, String> {
        parse_with_env(text, env(&[("USER", "osuser")]))
    }

    #[test]
    fn keyword_form() {
        let dsn = bare("host=db1 port=5433 user=cutover dbname=app sslmode=require").unwrap();
        assert_eq!(
            (dsn.host.as_str(), dsn.port, dsn.user.as_str(), dsn.dbname.as_str()),
            ("db1", 5433, "cutover", "app")
        );
        assert_eq!(dsn.tls, TlsOptions { mode: SslMode::Require, root_cert: None });
        assert_eq!(dsn.password(), None);
        assert_eq!(dsn.config.get_hosts(), &[Host::Tcp("db1".to_string())]);
        assert_eq!(dsn.config.get_ports(), &[5433]);
        assert_eq!(dsn.config.get_user(), Some("cutover"));
        assert_eq!(dsn.config.get_dbname(), Some("app"));
        assert_eq!(dsn.config.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
        assert_eq!(dsn.config.get_application_name(), Some("cutover"));
        assert_eq!(
            dsn.config.get_connect_timeout(),
            None,
            "the endpoint's CONNECT_TIMEOUT limits the whole connection"
        );
    }

    #[test]
    fn quotes_escapes_and_spaces_around_equals() {
        let dsn = bare(r"  host = db1   password='it\'s a \\ secret'  dbname='my db' user=us\ er application_name=''")
            .unwrap();
        assert_eq!(dsn.host, "db1");
        assert_eq!(dsn.password(), Some(r"it's a \ secret"));
        assert_eq!(dsn.config.get_password(), Some(r"it's a \ secret".as_bytes()));
        assert_eq!(dsn.dbname, "my db");
        assert_eq!(dsn.user, "us er");
        assert_eq!(dsn.config.get_application_name(), Some(""));
    }

    #[test]
    fn keyword_syntax_errors() {
        assert!(bare("host=db1 port").unwrap_err().contains("`port`"));
        assert!(bare("host=").unwrap_err().contains("missing value for `host`"));
        assert!(bare("host='db1").unwrap_err().contains("unterminated"));
        assert!(bare("=db1").unwrap_err().contains("without a key"));
        assert!(bare("mydb").unwrap_err().contains("key=value"));
        let err = bare("host=db1 password=hunter 2 dbname=x").unwrap_err();
        assert!(!err.contains("hunter") && !err.contains('2'), "{err}");
        let err = bare("password='hunter2").unwrap_err();
        assert!(err.contains("password") && !err.contains("hunter2"), "{err}");
    }

    #[test]
    fn later_keys_override_earlier_ones() {
        let dsn = bare("host=a host=b").unwrap();
        assert_eq!(dsn.host, "b");
    }

    #[test]
    fn url_form_with_percent_encoded_password() {
        let dsn = bare("postgres://cut%20over:p%40ss%3Aw%2Fo%25rd@db1.example:6432/app%2Fdb?sslmode=verify-full&sslrootcert=/etc/ca.pem")
            .unwrap();
        assert_eq!(dsn.user, "cut over");
        assert_eq!(dsn.password(), Some("p@ss:w/o%rd"));
        assert_eq!(dsn.host, "db1.example");
        assert_eq!(dsn.port, 6432);
        assert_eq!(dsn.dbname, "app/db");
        assert_eq!(dsn.tls, TlsOptions { mode: SslMode::VerifyFull, root_cert: Some(PathBuf::from("/etc/ca.pem")) });
        assert_eq!(dsn.config.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
    }

    #[test]
    fn url_variants() {
        let dsn = bare("postgresql://").unwrap();
        assert_eq!(
            (dsn.host.as_str(), dsn.port, dsn.user.as_str(), dsn.dbname.as_str()),
            ("localhost", 5432, "osuser", "osuser")
        );
        let dsn = bare("postgresql://[::1]:5433/app").unwrap();
        assert_eq!((dsn.host.as_str(), dsn.port), ("::1", 5433));
        let dsn = bare("postgres://u@h").unwrap();
        assert_eq!((dsn.user.as_str(), dsn.password(), dsn.host.as_str()), ("u", None, "h"));
        // An unescaped '@' in the password: the last '@' ends the user info.
        let dsn = bare("postgres://u:p@ss@h/db").unwrap();
        assert_eq!((dsn.password(), dsn.host.as_str()), (Some("p@ss"), "h"));
        let dsn = bare("postgres://h/db?ssl=true&application_name=probe&").unwrap();
        assert_eq!(dsn.tls.mode, SslMode::Require);
        assert_eq!(dsn.config.get_application_name(), Some("probe"));
        #[cfg(unix)]
        {
            let dsn = bare("postgresql://%2Fvar%2Frun%2Fpostgresql/app?sslmode=require").unwrap();
            assert_eq!(dsn.host, "/var/run/postgresql");
            assert_eq!(dsn.config.get_hosts(), &[Host::Unix(PathBuf::from("/var/run/postgresql"))]);
            // libpq never uses TLS through a socket.
            assert_eq!(dsn.config.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
            let dsn = bare("postgresql:///app?host=/tmp").unwrap();
            assert_eq!((dsn.host.as_str(), dsn.dbname.as_str()), ("/tmp", "app"));
        }
    }

    #[test]
    fn url_errors_never_show_the_password() {
        for text in [
            "postgres://u:hunter%zz@h/db",
            "postgres://u:hunter%FF@h/db",
            "postgres://u:hun/ter@h/db",
            "postgres://u:hun?ter@h/db",
        ] {
            let err = bare(text).unwrap_err();
            assert!(!err.contains("hunter") && !err.contains("ter@"), "{text}: {err}");
        }
        assert!(bare("postgres://a,b/db").unwrap_err().contains("one host"));
        assert!(bare("postgres://h:abc/db").unwrap_err().contains("`abc`"));
        assert!(bare("postgres://h/db?sslmode").unwrap_err().contains("`sslmode` has no value"));
        assert!(bare("postgres://[::1/db").unwrap_err().contains(']'));
        let err = bare("postgres://h/db?password=%GG").unwrap_err();
        assert!(err.contains("password") && !err.contains("GG"), "{err}");
    }

    #[test]
    fn masked_and_debug_never_show_the_password() {
        let mut dsn = bare("host=db1 user=cutover dbname=app password=hunter2 sslrootcert='/my certs/ca.pem'").unwrap();
        let masked = dsn.masked();
        assert_eq!(
            masked,
            "host=db1 port=5432 user=cutover dbname=app sslmode=prefer sslrootcert='/my certs/ca.pem' password=******"
        );
        let debug = format!("{dsn:?} {dsn:#?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains(MASK), "{debug}");
        dsn.set_password("swordfish");
        assert_eq!(dsn.password(), Some("swordfish"));
        assert_eq!(dsn.config.get_password(), Some("swordfish".as_bytes()));
        assert!(!dsn.masked().contains("swordfish"));
        assert!(!format!("{dsn:?}").contains("swordfish"));

        let dsn = bare("host=db1").unwrap();
        assert!(!dsn.masked().contains("password"), "{}", dsn.masked());
        assert!(format!("{dsn:?}").contains("password: None"));
        let dsn = bare("host=db1 password=''").unwrap();
        assert_eq!(dsn.password(), None);
    }

    #[test]
    fn masked_quotes_what_needs_it() {
        let dsn = bare(r"host=db1 user='o\'brien' dbname='a b'").unwrap();
        assert_eq!(dsn.masked(), r"host=db1 port=5432 user='o\'brien' dbname='a b' sslmode=prefer");
        // And it parses back to the same thing.
        let again = bare(&dsn.masked()).unwrap();
        assert_eq!((again.user, again.dbname), (dsn.user, dsn.dbname));
    }

    #[test]
    fn keys_tokio_postgres_does_not_know() {
        let dsn = bare("host=h sslrootcert=/ca.pem passfile=/run/pgpass sslcompression=0 krbsrvname=postgres gssencmode=disable client_encoding=UTF8 ssl_min_protocol_version=TLSv1.2")
            .unwrap();
        assert_eq!(dsn.tls.root_cert, Some(PathBuf::from("/ca.pem")));
        assert_eq!(dsn.passfile, Some(PathBuf::from("/run/pgpass")));
        assert_eq!(
            dsn.ignored,
            ["client_encoding", "gssencmode", "krbsrvname", "ssl_min_protocol_version", "sslcompression"]
        );
        for (text, needle) in [
            ("host=h sslcert=/c.pem", "`sslcert`: client certificates"),
            ("host=h sslkey=/k.pem", "`sslkey`: client certificates"),
            ("host=h sslcrl=/crl.pem", "revocation"),
            ("host=h service=prod", "pg_service.conf"),
            ("host=h gssencmode=require", "GSSAPI"),
            ("host=h client_encoding=LATIN1", "UTF8"),
            ("host=h target_session_attrs=primary", "`primary`"),
            ("host=h require_auth=scram-sha-256", "`require_auth`"),
        ] {
            let err = bare(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
        let err = bare("host=h frobnicate=topsecret").unwrap_err();
        assert!(err.contains("unknown connection parameter `frobnicate`") && !err.contains("topsecret"), "{err}");
        let err = bare("host=h sslpassword=topsecret").unwrap_err();
        assert!(!err.contains("topsecret"), "{err}");
    }

    #[test]
    fn tokio_keys_are_passed_on() {
        let dsn = bare("host=h connect_timeout=12 keepalives=0 keepalives_idle=30 keepalives_interval=5 keepalives_count=3 tcp_user_timeout=1500 target_session_attrs=read-write channel_binding=require options='-c statement_timeout=5s' hostaddr=10.0.0.7")
            .unwrap();
        let c = &dsn.config;
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(12)));
        assert!(!c.get_keepalives());
        assert_eq!(c.get_keepalives_idle(), Duration::from_secs(30));
        assert_eq!(c.get_keepalives_interval(), Some(Duration::from_secs(5)));
        assert_eq!(c.get_keepalives_retries(), Some(3));
        assert_eq!(c.get_tcp_user_timeout(), Some(&Duration::from_millis(1500)));
        assert_eq!(c.get_target_session_attrs(), TargetSessionAttrs::ReadWrite);
        assert_eq!(c.get_channel_binding(), ChannelBinding::Require);
        assert_eq!(c.get_options(), Some("-c statement_timeout=5s"));
        assert_eq!(c.get_hostaddrs(), &["10.0.0.7".parse::<IpAddr>().unwrap()]);
        assert_eq!(c.get_hosts(), &[Host::Tcp("h".to_string())]);
        assert!(dsn.masked().contains("hostaddr=10.0.0.7"));

        assert_eq!(bare("host=h connect_timeout=0").unwrap().config.get_connect_timeout(), None);
        assert!(bare("host=h connect_timeout=soon").unwrap_err().contains("`connect_timeout`: `soon`"));
        let dsn = bare("hostaddr=10.0.0.7").unwrap();
        assert_eq!(dsn.host, "10.0.0.7");
        assert!(dsn.config.get_hosts().is_empty());
        assert!(bare("hostaddr=10.0.0.7 sslmode=verify-full").unwrap_err().contains("needs host="));
        assert!(bare("hostaddr=db1").unwrap_err().contains("`hostaddr`: `db1`"));
    }

    #[test]
    fn application_name_precedence() {
        let name = |text: &str| bare(text).unwrap().config.get_application_name().map(str::to_string);
        assert_eq!(name("host=h").as_deref(), Some("cutover"));
        assert_eq!(name("host=h fallback_application_name=fb").as_deref(), Some("fb"));
        assert_eq!(name("host=h fallback_application_name=fb application_name=app").as_deref(), Some("app"));
    }

    #[test]
    fn bad_port_is_a_clear_error() {
        for (text, needle) in [
            ("host=h port=abc", "`port`: `abc` is not a port number"),
            ("host=h port=70000", "`70000`"),
            ("host=h port=0", "`0`"),
            ("host=h port=5432,5433", "several ports"),
            ("postgres://h:99999/db", "`99999`"),
        ] {
            let err = bare(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
        let err = parse_with_env("host=h", env(&[("USER", "u"), ("PGPORT", "x1")])).unwrap_err();
        assert!(err.contains("PGPORT"), "{err}");
    }

    #[test]
    fn host_lists_are_refused() {
        assert!(bare("host=a,b").unwrap_err().contains("one host per endpoint"));
        assert!(parse_with_env("", env(&[("USER", "u"), ("PGHOST", "a,b")])).unwrap_err().contains("PGHOST"));
        assert!(bare("host= port=5432").unwrap_err().contains("host=''"));
    }

    #[test]
    fn env_defaults_only_where_missing() {
        let vars = env(&[
            ("PGHOST", "envhost"),
            ("PGPORT", "6000"),
            ("PGUSER", "envuser"),
            ("PGDATABASE", "envdb"),
            ("PGSSLMODE", "verify-ca"),
            ("PGSSLROOTCERT", "/env/ca.pem"),
            ("USER", "osuser"),
        ]);
        let dsn = parse_with_env("", &vars).unwrap();
        assert_eq!(
            (dsn.host.as_str(), dsn.port, dsn.user.as_str(), dsn.dbname.as_str()),
            ("envhost", 6000, "envuser", "envdb")
        );
        assert_eq!(dsn.tls, TlsOptions { mode: SslMode::VerifyCa, root_cert: Some(PathBuf::from("/env/ca.pem")) });

        let dsn = parse_with_env("host=h port=1 user=u dbname=d sslmode=disable sslrootcert=/ca.pem", &vars).unwrap();
        assert_eq!((dsn.host.as_str(), dsn.port, dsn.user.as_str(), dsn.dbname.as_str()), ("h", 1, "u", "d"));
        assert_eq!(dsn.tls, TlsOptions { mode: SslMode::Disable, root_cert: Some(PathBuf::from("/ca.pem")) });

        // Empty values count as missing, in the string and in the environment.
        let dsn = parse_with_env("host='' user=''", &vars).unwrap();
        assert_eq!((dsn.host.as_str(), dsn.user.as_str()), ("envhost", "envuser"));
        let dsn = parse_with_env("", env(&[("PGHOST", ""), ("USER", "osuser")])).unwrap();
        assert_eq!(dsn.host, "localhost");
    }

    #[test]
    fn built_in_defaults() {
        let dsn = parse_with_env("", env(&[("LOGNAME", "logname")])).unwrap();
        assert_eq!(
            (dsn.host.as_str(), dsn.port, dsn.user.as_str(), dsn.dbname.as_str()),
            ("localhost", 5432, "logname", "logname")
        );
        assert_eq!(dsn.tls, TlsOptions::default());
        assert_eq!(dsn.config.get_ssl_mode(), tokio_postgres::config::SslMode::Prefer);
        // The user given in the string is also the default database.
        let dsn = parse_with_env("user=alice", env(&[("PGUSER", "bob")])).unwrap();
        assert_eq!(dsn.dbname, "alice");
        assert!(parse_inner("host=h", env(&[]), || None).unwrap_err().contains("no user name"));
        let dsn = parse_inner("host=h", env(&[]), || Some("fromfile".to_string())).unwrap();
        assert_eq!(dsn.user, "fromfile");
        let dsn = parse_inner("host=h", env(&[("USER", "fromenv")]), || Some("fromfile".to_string())).unwrap();
        assert_eq!(dsn.user, "fromenv");
    }

    #[test]
    fn sslmode_mapping() {
        use tokio_postgres::config::SslMode as T;
        for (text, ours, theirs) in [
            ("disable", SslMode::Disable, T::Disable),
            ("allow", SslMode::Allow, T::Prefer),
            ("prefer", SslMode::Prefer, T::Prefer),
            ("require", SslMode::Require, T::Require),
            ("verify-ca", SslMode::VerifyCa, T::Require),
            ("verify-full", SslMode::VerifyFull, T::Require),
        ] {
            let dsn = bare(&format!("host=h sslmode={text}")).unwrap();
            assert_eq!(dsn.tls.mode, ours, "{text}");
            assert_eq!(dsn.config.get_ssl_mode(), theirs, "{text}");
            assert!(dsn.masked().contains(&format!("sslmode={text}")));
        }
        let err = bare("host=h sslmode=verify_full").unwrap_err();
        assert!(err.contains("`sslmode`: `verify_full`") && err.contains("verify-full"), "{err}");
        let err = parse_with_env("host=h", env(&[("USER", "u"), ("PGSSLMODE", "strict")])).unwrap_err();
        assert!(err.contains("PGSSLMODE"), "{err}");
    }

    #[test]
    fn system_roots_and_direct_negotiation_need_strong_modes() {
        let dsn = bare("host=h sslrootcert=system").unwrap();
        assert_eq!(dsn.tls.mode, SslMode::VerifyFull);
        assert!(bare("host=h sslrootcert=system sslmode=require").unwrap_err().contains("sslrootcert=system"));
        let dsn = bare("host=h sslnegotiation=direct sslmode=require").unwrap();
        assert_eq!(dsn.config.get_ssl_negotiation(), SslNegotiation::Direct);
        assert!(bare("host=h sslnegotiation=direct").unwrap_err().contains("sslnegotiation=direct"));
    }
}
