//! Inventories: which real servers the logical endpoint names mean in one
//! environment. Passwords come from an environment variable, the DSN or a
//! `.pgpass` file, and never leave this module except into the connection.

pub mod backup;
pub mod dsn;
mod file;
pub mod mongo_uri;
pub mod mysql_url;
pub mod pgpass;
pub mod pooler;
pub mod tls;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, eyre};
use toml::Spanned;

use crate::diagnostic::Diagnostic;
use crate::events::EndpointKind;
use crate::quantity::{self, Unit};
use crate::secrets::Secrets;
use crate::state::{Limits, Thresholds};
pub use dsn::Dsn;
use file::{InventoryFile, LimitsFile, Quantity};
pub use mongo_uri::MongoUri;
pub use mysql_url::MysqlUrl;

/// The default gauge interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// One endpoint, ready to connect to.
#[derive(Clone)]
pub struct Endpoint {
    pub name: String,
    pub kind: EndpointKind,
    /// For a MongoDB endpoint, only its first host, port, user and database
    /// (for display): it connects through [`Endpoint::mongo`].
    pub dsn: Dsn,
    pub mongo: Option<MongoUri>,
    /// A MySQL or MariaDB endpoint's URL: it connects through this, and
    /// [`Endpoint::dsn`] only shows where.
    pub mysql: Option<MysqlUrl>,
    pub disk_path: Option<PathBuf>,
    /// A PgBouncer endpoint's configuration, for repoints.
    pub pooler: Option<pooler::Where>,
    /// A PostgreSQL endpoint's backup repository, read by the collector.
    pub backup: Option<backup::BackupSource>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("dsn", &self.shown())
            .field("disk_path", &self.disk_path)
            .finish()
    }
}

impl Endpoint {
    /// The connection string safe to show (password masked).
    #[must_use]
    pub fn shown(&self) -> String {
        match (&self.mongo, &self.mysql) {
            (Some(uri), _) => uri.masked(),
            (None, Some(url)) => url.masked(),
            (None, None) => self.dsn.masked(),
        }
    }

    /// Where the endpoint is, with no secret: its kind, user, hosts, ports and
    /// database — what a resumed run must still point at.
    #[must_use]
    pub fn pin(&self) -> String {
        let kind = crate::events::name_of(&self.kind);
        match &self.mongo {
            Some(uri) => {
                format!("{kind} {}@{}/{}", uri.user.as_deref().unwrap_or_default(), uri.hosts.join(","), uri.database)
            }
            None => format!("{kind} {}@{}:{}/{}", self.dsn.user, self.dsn.host, self.dsn.port, self.dsn.dbname),
        }
    }

    /// Whether the server runs on this machine (so its filesystem is ours to measure).
    #[must_use]
    pub fn is_local(&self) -> bool {
        let host = self.dsn.host.as_str();
        host.starts_with('/') || host == "localhost" || host == "::1" || host.starts_with("127.")
    }
}

#[derive(Clone, Debug)]
pub struct Inventory {
    pub name: String,
    pub endpoints: Vec<Endpoint>,
    pub thresholds: Thresholds,
    pub interval: Duration,
    /// Values for runbook variables in this environment.
    pub vars: std::collections::BTreeMap<String, String>,
    /// Things worth telling the operator that do not stop the inventory from working.
    pub warnings: Vec<String>,
    /// Every endpoint's password: what nothing shown or recorded may hold.
    pub secrets: Secrets,
}

impl Inventory {
    /// Every endpoint's password, in every spelling: what a journal of this
    /// inventory's session, and anything it shows, must never hold.
    #[must_use]
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }
}

/// Read an inventory file, with passwords from the process environment.
///
/// # Errors
/// An unreadable file, or every problem found as `FILE:LINE:COL: message`.
pub fn load(path: &Path) -> Result<Inventory> {
    let text = std::fs::read_to_string(path).wrap_err_with(|| format!("cannot read inventory {}", path.display()))?;
    parse(&path.display().to_string(), &text, &|k| std::env::var(k).ok())
        .map_err(|errors| eyre!("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")))
}

/// Parse and check an inventory's text.
///
/// # Errors
/// Every problem found, in file order.
pub fn parse(file: &str, text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Inventory, Vec<Diagnostic>> {
    let parsed: InventoryFile = toml::from_str(text).map_err(|e| vec![Diagnostic::from_toml(file, text, &e)])?;
    let at = |offset: usize, message: String| Diagnostic::at_offset(file, text, offset, message);
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut endpoints = Vec::new();
    let mut secrets = Secrets::default();

    for (name, spanned) in &parsed.endpoints {
        let e = spanned.get_ref();
        let kind = match e.kind.get_ref().as_str() {
            "postgres" => EndpointKind::Postgres,
            "pgbouncer" => EndpointKind::Pgbouncer,
            // Endpoints with a URL of their own: built whole by their engine's part.
            kind @ ("mysql" | "mongodb") => {
                let built = if kind == "mysql" {
                    mysql_endpoint(name, spanned, env)
                } else {
                    mongo_endpoint(name, spanned, env)
                };
                match built {
                    Ok((endpoint, warning)) => {
                        let password = endpoint.mongo.as_ref().and_then(MongoUri::password);
                        if let Some(password) = password.or_else(|| endpoint.mysql.as_ref()?.password()) {
                            let offset = e.password_env.as_ref().map_or(spanned.span().start, |v| v.span().start);
                            if let Err(message) = secrets.add(&format!("endpoint \"{name}\": its password"), password) {
                                errors.push(at(offset, message));
                            }
                        }
                        endpoints.push(endpoint);
                        warnings.extend(warning);
                    }
                    Err((offset, message)) => errors.push(at(offset, message)),
                }
                continue;
            }
            other => {
                errors.push(at(
                    e.kind.span().start,
                    format!(
                        "endpoint \"{name}\": unknown kind \"{other}\" (expected postgres, pgbouncer, mongodb or mysql)"
                    ),
                ));
                continue;
            }
        };
        if let Some(uri) = &e.uri {
            errors
                .push(at(uri.span().start, format!("endpoint \"{name}\": `uri` is for mongodb endpoints; use `dsn`")));
        }
        if let Some(file) = &e.option_file {
            errors.push(at(file.span().start, format!("endpoint \"{name}\": `option_file` is for mysql endpoints")));
        }
        let Some(dsn_text) = &e.dsn else {
            errors.push(at(spanned.span().start, format!("endpoint \"{name}\": missing `dsn`")));
            continue;
        };
        let mut dsn = match dsn::parse_with_env(dsn_text.get_ref(), env) {
            Ok(d) => d,
            Err(message) => {
                errors.push(at(dsn_text.span().start, format!("endpoint \"{name}\": {message}")));
                continue;
            }
        };
        match resolve_password(name, &mut dsn, e.password_env.as_ref(), env) {
            Ok(Some(warning)) => warnings.push(warning),
            Ok(None) => {}
            Err((offset, message)) => errors.push(at(offset, message)),
        }
        if let Some(password) = dsn.password() {
            let offset = e.password_env.as_ref().map_or(dsn_text.span().start, |v| v.span().start);
            if let Err(message) = secrets.add(&format!("endpoint \"{name}\": its password"), password) {
                errors.push(at(offset, message));
            }
        }
        endpoints.push(Endpoint {
            name: name.clone(),
            kind,
            dsn,
            mongo: None,
            mysql: None,
            disk_path: e.disk_path.as_ref().map(PathBuf::from),
            pooler: pooler_config(name, kind, e)
                .map_err(|(offset, message)| errors.push(at(offset, message)))
                .ok()
                .flatten(),
            backup: backup_config(name, kind, e)
                .map_err(|(offset, message)| errors.push(at(offset, message)))
                .ok()
                .flatten(),
        });
    }
    if parsed.endpoints.is_empty() {
        errors.push(at(0, "the inventory names no endpoints: add an [endpoints.NAME] table".to_owned()));
    }

    let interval = match &parsed.interval {
        None => DEFAULT_INTERVAL,
        Some(text) => match quantity::parse(text.get_ref(), Unit::Seconds) {
            Ok(secs) if (0.1..=60.0).contains(&secs) => Duration::from_secs_f64(secs),
            Ok(_) => {
                errors.push(at(text.span().start, "interval must be between 100ms and 60s".to_owned()));
                DEFAULT_INTERVAL
            }
            Err(message) => {
                errors.push(at(text.span().start, format!("interval: {message}")));
                DEFAULT_INTERVAL
            }
        },
    };

    let mut thresholds = Thresholds::default();
    let t = &parsed.thresholds;
    let overrides: [(&Option<Spanned<LimitsFile>>, &mut Limits, Unit); 10] = [
        (&t.lag_seconds, &mut thresholds.lag_seconds, Unit::Seconds),
        (&t.lag_bytes, &mut thresholds.lag_bytes, Unit::Bytes),
        (&t.slot_retained_bytes, &mut thresholds.slot_retained_bytes, Unit::Bytes),
        (&t.disk_used_pct, &mut thresholds.disk_used_pct, Unit::Plain),
        (&t.connections_used_pct, &mut thresholds.connections_used_pct, Unit::Plain),
        (&t.lock_waiters, &mut thresholds.lock_waiters, Unit::Plain),
        (&t.clients_waiting, &mut thresholds.clients_waiting, Unit::Plain),
        (&t.oldest_xact_seconds, &mut thresholds.oldest_xact_seconds, Unit::Seconds),
        (&t.archive_lag_seconds, &mut thresholds.archive_lag_seconds, Unit::Seconds),
        (&t.backup_age_seconds, &mut thresholds.backup_age_seconds, Unit::Seconds),
    ];
    for (given, limits, unit) in overrides {
        let Some(given) = given else { continue };
        let value = |q: &Spanned<Quantity>, errors: &mut Vec<Diagnostic>| match q.get_ref() {
            Quantity::Number(n) => Some(*n),
            Quantity::Text(s) => quantity::parse(s, unit).map_err(|m| errors.push(at(q.span().start, m))).ok(),
        };
        let (warn, critical) =
            (value(&given.get_ref().warn, &mut errors), value(&given.get_ref().critical, &mut errors));
        if let (Some(warn), Some(critical)) = (warn, critical) {
            if warn > critical {
                errors.push(at(given.span().start, "warn must not be above critical".to_owned()));
            }
            *limits = Limits { warn, critical };
        }
    }

    if errors.is_empty() {
        Ok(Inventory {
            name: parsed.name.unwrap_or_else(|| file.to_owned()),
            endpoints,
            thresholds,
            interval,
            vars: parsed.vars,
            warnings,
            secrets,
        })
    } else {
        errors.sort_by_key(|d| (d.line, d.col));
        Err(errors)
    }
}

/// A `kind = "mongodb"` endpoint: its `uri`, its password from `password_env`.
fn mongo_endpoint(
    name: &str,
    e: &Spanned<file::EndpointFile>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Endpoint, Option<String>), (usize, String)> {
    let f = e.get_ref();
    if let Some(b) = &f.backup {
        return Err((b.span().start, format!("endpoint \"{name}\": `backup` is for postgres endpoints")));
    }
    if let Some(dsn) = &f.dsn {
        return Err((dsn.span().start, format!("endpoint \"{name}\": `dsn` is for PostgreSQL; use `uri`")));
    }
    let uri_text = f.uri.as_ref().ok_or((e.span().start, format!("endpoint \"{name}\": missing `uri`")))?;
    let mut uri = mongo_uri::parse(uri_text.get_ref())
        .map_err(|m| (uri_text.span().start, format!("endpoint \"{name}\": {m}")))?;
    let mut warning = None;
    match &f.password_env {
        Some(var) => match env(var.get_ref()) {
            Some(password) => uri.set_password(&password),
            None => {
                return Err((
                    var.span().start,
                    format!("endpoint \"{name}\": password_env names {}, which is not set", var.get_ref()),
                ));
            }
        },
        None if uri.password().is_some() => {
            warning = Some(format!("endpoint \"{name}\": the uri holds a password; prefer password_env"));
        }
        None => {}
    }
    let (host, port) = uri.first_host();
    let shown = format!(
        "host={} port={port} user={} dbname={}",
        if host.is_empty() { "mongodb" } else { &host },
        uri.user.clone().unwrap_or_else(|| "-".to_owned()),
        uri.database
    );
    let dsn = dsn::parse_with_env(&shown, |_| None)
        .map_err(|m| (uri_text.span().start, format!("endpoint \"{name}\": {m}")))?;
    let endpoint = Endpoint {
        name: name.to_owned(),
        kind: EndpointKind::Mongodb,
        dsn,
        mongo: Some(uri),
        mysql: None,
        disk_path: f.disk_path.as_ref().map(PathBuf::from),
        pooler: None,
        backup: None,
    };
    Ok((endpoint, warning))
}

/// A `kind = "mysql"` endpoint: its URL `dsn`, its password from
/// `password_env`, the URL, or an option file's `[client]` section.
fn mysql_endpoint(
    name: &str,
    e: &Spanned<file::EndpointFile>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Endpoint, Option<String>), (usize, String)> {
    let f = e.get_ref();
    if let Some(b) = &f.backup {
        return Err((b.span().start, format!("endpoint \"{name}\": `backup` is for postgres endpoints")));
    }
    if let Some(uri) = &f.uri {
        return Err((uri.span().start, format!("endpoint \"{name}\": `uri` is for mongodb endpoints; use `dsn`")));
    }
    if let Some(s) = f.ini.as_ref().or(f.repoint_command.as_ref()) {
        return Err((
            s.span().start,
            format!("endpoint \"{name}\": `ini` and `repoint_command` are for pgbouncer endpoints"),
        ));
    }
    let text = f.dsn.as_ref().ok_or((e.span().start, format!("endpoint \"{name}\": missing `dsn`")))?;
    let os_user = env("USER").or_else(|| env("LOGNAME")).unwrap_or_else(|| "root".to_owned());
    let mut url = mysql_url::parse(text.get_ref(), &os_user)
        .map_err(|m| (text.span().start, format!("endpoint \"{name}\": {m}")))?;
    let mut warning = None;
    if let Some(var) = &f.password_env {
        let password = env(var.get_ref()).ok_or_else(|| {
            (var.span().start, format!("endpoint \"{name}\": password_env names {}, which is not set", var.get_ref()))
        })?;
        url.set_password(&password);
    } else if url.password().is_some() {
        warning = Some(format!("endpoint \"{name}\": the dsn holds a password; prefer password_env or an option file"));
    } else {
        let given = f.option_file.as_ref();
        let path =
            given.map(|p| PathBuf::from(p.get_ref())).or_else(|| env("HOME").map(|h| Path::new(&h).join(".my.cnf")));
        if let Some(path) = path.filter(|p| given.is_some() || p.exists()) {
            let at = given.map_or(text.span().start, |p| p.span().start);
            match mysql_url::option_file_password(&path) {
                Ok(Some(password)) => url.set_password(&password),
                Ok(None) => {}
                Err(message) => return Err((at, format!("endpoint \"{name}\": {message}"))),
            }
        }
    }
    let shown = format!(
        "host={} port={} user={} dbname={}",
        url.host,
        url.port,
        url.user,
        if url.database.is_empty() { "-" } else { &url.database }
    );
    let dsn =
        dsn::parse_with_env(&shown, |_| None).map_err(|m| (text.span().start, format!("endpoint \"{name}\": {m}")))?;
    let endpoint = Endpoint {
        name: name.to_owned(),
        kind: EndpointKind::Mysql,
        dsn,
        mongo: None,
        mysql: Some(url),
        disk_path: f.disk_path.as_ref().map(PathBuf::from),
        pooler: None,
        backup: None,
    };
    Ok((endpoint, warning))
}

/// A PostgreSQL endpoint's `backup` table.
fn backup_config(
    name: &str,
    kind: EndpointKind,
    e: &file::EndpointFile,
) -> Result<Option<backup::BackupSource>, (usize, String)> {
    let Some(given) = &e.backup else { return Ok(None) };
    if kind != EndpointKind::Postgres {
        return Err((given.span().start, format!("endpoint \"{name}\": `backup` is for postgres endpoints")));
    }
    backup::BackupSource::from_file(name, given.get_ref()).map(Some)
}

/// A PgBouncer endpoint's `ini` or `repoint_command` (not both; only on pgbouncer).
fn pooler_config(
    name: &str,
    kind: EndpointKind,
    e: &file::EndpointFile,
) -> Result<Option<pooler::Where>, (usize, String)> {
    use pooler::Where;
    match (&e.ini, &e.repoint_command) {
        (None, None) => Ok(None),
        (Some(s), _) | (None, Some(s)) if kind != EndpointKind::Pgbouncer => Err((
            s.span().start,
            format!("endpoint \"{name}\": `ini` and `repoint_command` are for pgbouncer endpoints"),
        )),
        (Some(_), Some(command)) => {
            Err((command.span().start, format!("endpoint \"{name}\": give `ini` or `repoint_command`, not both")))
        }
        (Some(ini), None) => Ok(Some(Where::File(PathBuf::from(ini.get_ref())))),
        (None, Some(command)) => Ok(Some(Where::Command(command.get_ref().clone()))),
    }
}

/// Find the endpoint's password: the named environment variable, else the
/// DSN's own, else `.pgpass`. Returns a warning worth showing, if any.
fn resolve_password(
    name: &str,
    dsn: &mut Dsn,
    password_env: Option<&Spanned<String>>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, (usize, String)> {
    if let Some(var) = password_env {
        return match env(var.get_ref()) {
            Some(password) => {
                dsn.set_password(&password);
                Ok(None)
            }
            None => Err((
                var.span().start,
                format!("endpoint \"{name}\": password_env names {}, which is not set", var.get_ref()),
            )),
        };
    }
    if dsn.password().is_some() {
        return Ok(Some(format!(
            "endpoint \"{name}\": the DSN holds a password; prefer password_env or a .pgpass file"
        )));
    }
    // libpq: the DSN's passfile= wins over PGPASSFILE and ~/.pgpass.
    let Some(path) = dsn.passfile.clone().or_else(|| pgpass::default_path(env)) else { return Ok(None) };
    if !path.exists() {
        return Ok(None);
    }
    match pgpass::lookup(&path, &dsn.host, dsn.port, &dsn.dbname, &dsn.user) {
        Ok(Some(password)) => {
            dsn.set_password(&password);
            Ok(None)
        }
        Ok(None) => Ok(None),
        Err(e) => Ok(Some(format!("endpoint \"{name}\": {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn a_good_inventory_loads_with_passwords_from_the_environment() {
        let text = r#"
name = "staging"
interval = "2s"
[endpoints.source]
kind = "postgres"
dsn = "host=db1 port=5433 user=cutover dbname=app"
password_env = "SOURCE_PGPASSWORD"
[endpoints.bouncer]
kind = "pgbouncer"
dsn = "postgres://pgbouncer@db1:6432/pgbouncer"
[thresholds]
slot_retained_bytes = { warn = "1GB", critical = "4GB" }
disk_used_pct = { warn = 60, critical = 80 }
"#;
        let inv = parse("inv.toml", text, &env(&[("SOURCE_PGPASSWORD", "s3cret"), ("HOME", "/nonexistent")])).unwrap();
        assert_eq!(inv.name, "staging");
        assert_eq!(inv.interval, Duration::from_secs(2));
        assert_eq!(inv.endpoints.len(), 2);
        let source = inv.endpoints.iter().find(|e| e.name == "source").unwrap();
        assert_eq!(source.dsn.password(), Some("s3cret"));
        assert_eq!((source.dsn.host.as_str(), source.dsn.port), ("db1", 5433));
        assert!(!format!("{source:?}").contains("s3cret"));
        assert!(!source.dsn.masked().contains("s3cret"));
        assert_eq!(inv.thresholds.slot_retained_bytes.warn, 1024.0 * 1024.0 * 1024.0);
        assert_eq!(inv.thresholds.disk_used_pct.critical, 80.0);
        assert_eq!(inv.thresholds.lag_seconds, Thresholds::default().lag_seconds);
    }

    #[test]
    fn problems_point_at_file_line_col() {
        let text = r#"[endpoints.source]
kind = "postgres"
dsn = "host=db1"
password_env = "NOPE"
[endpoints.other]
kind = "oracle"
dsn = "host=x"
[thresholds]
lag_bytes = { warn = "30s", critical = "1GB" }
"#;
        let errors = parse("inv.toml", text, &env(&[("USER", "ops")])).unwrap_err();
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            vec![
                "inv.toml:4:16: endpoint \"source\": password_env names NOPE, which is not set",
                "inv.toml:6:8: endpoint \"other\": unknown kind \"oracle\" (expected postgres, pgbouncer, mongodb or mysql)",
                "inv.toml:9:22: \"30s\": expected a size like 512kB, 16MB, 2GB",
            ]
        );
    }

    #[test]
    fn a_password_too_short_to_mask_is_refused_where_it_comes_from() {
        let text = r#"[endpoints.source]
kind = "postgres"
dsn = "host=db1"
password_env = "SRC_PW"
[endpoints.inline]
kind = "postgres"
dsn = "host=db2 password=xy"
[endpoints.set]
kind = "mongodb"
uri = "mongodb://ops@db3/app"
password_env = "MPW"
"#;
        let errors = parse("inv.toml", text, &env(&[("SRC_PW", "pw"), ("MPW", "m")])).unwrap_err();
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines[0].starts_with("inv.toml:4:16: endpoint \"source\": its password is shorter than 3"),
            "{lines:#?}"
        );
        assert!(lines[1].starts_with("inv.toml:7:7: endpoint \"inline\": its password is shorter"), "{lines:#?}");
        assert!(lines[2].starts_with("inv.toml:11:16: endpoint \"set\": its password is shorter"), "{lines:#?}");
        let inv = parse("inv.toml", text, &env(&[("SRC_PW", "pw1"), ("MPW", "m0ngo")]));
        assert!(inv.is_err(), "the inline password is still too short");
    }

    #[test]
    fn a_mongodb_endpoint_takes_a_uri_and_its_password_from_the_environment() {
        let text = "[endpoints.set]\nkind = \"mongodb\"\nuri = \"mongodb://ops@db1:27017,db2:27017/app?replicaSet=rs0\"\npassword_env = \"MPW\"\n";
        let inv = parse("inv.toml", text, &env(&[("MPW", "m0ngo-pw")])).unwrap();
        let set = &inv.endpoints[0];
        assert_eq!(set.kind, EndpointKind::Mongodb);
        let uri = set.mongo.as_ref().unwrap();
        assert_eq!(uri.password(), Some("m0ngo-pw"));
        assert_eq!(set.shown(), "mongodb://ops:******@db1:27017,db2:27017/app?replicaSet=rs0");
        assert!(!format!("{set:?}").contains("m0ngo-pw"));
        let errors =
            parse("inv.toml", "[endpoints.set]\nkind = \"mongodb\"\ndsn = \"host=x\"\n", &env(&[])).unwrap_err();
        assert_eq!(errors[0].to_string(), "inv.toml:3:7: endpoint \"set\": `dsn` is for PostgreSQL; use `uri`");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let errors = parse(
            "inv.toml",
            "[endpoints.a]\nkind = \"postgres\"\ndsn = \"host=x\"\npasword = \"x\"\n",
            &env(&[("USER", "ops")]),
        )
        .unwrap_err();
        assert_eq!((errors[0].line, errors[0].col), (4, 1), "{}", errors[0]);
        assert!(errors[0].message.contains("unknown field `pasword`"));
    }
}
