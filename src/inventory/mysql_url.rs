//! MySQL and MariaDB connection URLs:
//! `mysql://user@host:port/database?ssl-mode=VERIFY_IDENTITY&ssl-ca=/ca.pem`
//! (or `mariadb://`), percent-encoded. The password is kept apart so it is
//! never displayed; it comes from `password_env`, else the URL (with a
//! warning), else an option file's `[client]` section (`option_file`, else
//! `~/.my.cnf`), as the `mysql` client reads it.
//!
//! `ssl-mode` takes the MySQL client's words: `DISABLED`, `PREFERRED` (the
//! default, as for the client: TLS when the server offers it, unverified),
//! `REQUIRED` (TLS, unverified), `VERIFY_CA` (the certificate chains to
//! `ssl-ca`, or the system's roots), `VERIFY_IDENTITY` (and names the host).

use std::fmt;
use std::path::{Path, PathBuf};

use super::dsn::MASK;

/// The MySQL client's TLS modes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    Disabled,
    #[default]
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

impl SslMode {
    fn parse(text: &str) -> Option<Self> {
        Some(match text.to_ascii_uppercase().replace('-', "_").as_str() {
            "DISABLED" => Self::Disabled,
            "PREFERRED" => Self::Preferred,
            "REQUIRED" => Self::Required,
            "VERIFY_CA" => Self::VerifyCa,
            "VERIFY_IDENTITY" => Self::VerifyIdentity,
            _ => return None,
        })
    }

    /// The word the URL takes.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "DISABLED",
            Self::Preferred => "PREFERRED",
            Self::Required => "REQUIRED",
            Self::VerifyCa => "VERIFY_CA",
            Self::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }
}

/// A parsed MySQL URL.
#[derive(Clone)]
pub struct MysqlUrl {
    pub user: String,
    pub host: String,
    pub port: u16,
    /// The default database (schema); empty when the URL names none.
    pub database: String,
    pub ssl_mode: SslMode,
    /// `ssl-ca`: the CA certificates to verify the server with.
    pub ssl_ca: Option<PathBuf>,
    password: Option<String>,
}

impl fmt::Debug for MysqlUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl MysqlUrl {
    #[must_use]
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    pub fn set_password(&mut self, password: &str) {
        self.password = Some(password.to_owned());
    }

    /// The URL with no password at all: `mysql://user@host:port/database`.
    #[must_use]
    pub fn without_password(&self) -> String {
        format!("mysql://{}@{}:{}/{}", self.user, self.host, self.port, self.database)
    }

    /// The URL to show: the password, if any, masked.
    #[must_use]
    pub fn masked(&self) -> String {
        let password = if self.password.is_some() { format!(":{MASK}") } else { String::new() };
        let mut shown = format!("mysql://{}{password}@{}:{}/{}", self.user, self.host, self.port, self.database);
        if self.ssl_mode != SslMode::Preferred {
            shown.push_str(&format!("?ssl-mode={}", self.ssl_mode.as_str()));
        }
        shown
    }
}

/// Percent-decoding of a URL part.
fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let value = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(value.ok_or("a % in the URL is not followed by two hex digits")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the URL decodes to invalid UTF-8".to_owned())
}

/// Parse a MySQL URL; `default_user`: the user when the URL names none (the
/// OS user, as the `mysql` client).
///
/// # Errors
/// A message naming what is wrong (never the password).
pub fn parse(text: &str, default_user: &str) -> Result<MysqlUrl, String> {
    let rest = text
        .strip_prefix("mysql://")
        .or_else(|| text.strip_prefix("mariadb://"))
        .ok_or("a MySQL dsn is a URL: mysql://user@host:port/database")?;
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        None => (default_user.to_owned(), None),
        Some(u) => match u.split_once(':') {
            Some((user, pw)) => (decode(user)?, Some(decode(pw)?)),
            None => (decode(u)?, None),
        },
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => {
            let port = p.parse::<u16>().map_err(|_| format!("port \"{p}\" is not a number from 1 to 65535"))?;
            (h, port)
        }
        _ => (hostport, 3306),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err("the URL names no host".to_owned());
    }
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let database = decode(path.trim_start_matches('/'))?;
    let mut url =
        MysqlUrl { user, host: host.to_owned(), port, database, ssl_mode: SslMode::default(), ssl_ca: None, password };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value)?;
        match key.replace('_', "-").as_str() {
            "ssl-mode" => {
                url.ssl_mode = SslMode::parse(&value).ok_or_else(|| {
                    format!(
                        "ssl-mode \"{value}\": expected DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY"
                    )
                })?;
            }
            "ssl-ca" => url.ssl_ca = Some(PathBuf::from(value)),
            // Never echo the value: it could be a secret.
            "password" => return Err("give the password by password_env or an option file, not in the query".into()),
            other => return Err(format!("unknown URL parameter \"{other}\" (expected ssl-mode or ssl-ca)")),
        }
    }
    Ok(url)
}

/// The `password` of an option file's `[client]` section (the last one, as
/// the client reads it), quotes removed; `None` when it gives none.
///
/// # Errors
/// The file cannot be read.
pub fn option_file_password(path: &Path) -> Result<Option<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read option file {}: {e}", path.display()))?;
    Ok(password_in_options(&text))
}

fn password_in_options(text: &str) -> Option<String> {
    let mut in_client = false;
    let mut password = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_client = section.trim() == "client";
            continue;
        }
        if !in_client {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        if key.trim().replace('_', "-") == "password" {
            let value = value.trim();
            let unquoted = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            password = Some(unquoted.to_owned());
        }
    }
    password
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gives_its_parts_and_hides_its_password() {
        let url = parse("mysql://ops:p%40ss@db1:3307/app?ssl-mode=verify_identity&ssl-ca=/etc/ca.pem", "me").unwrap();
        assert_eq!(
            (url.user.as_str(), url.host.as_str(), url.port, url.database.as_str()),
            ("ops", "db1", 3307, "app")
        );
        assert_eq!(url.password(), Some("p@ss"));
        assert_eq!(url.ssl_mode, SslMode::VerifyIdentity);
        assert_eq!(url.ssl_ca.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(url.masked(), "mysql://ops:******@db1:3307/app?ssl-mode=VERIFY_IDENTITY");
        assert!(!format!("{url:?}").contains("p@ss"));
        let bare = parse("mariadb://127.0.0.1", "me").unwrap();
        assert_eq!((bare.user.as_str(), bare.port, bare.database.as_str()), ("me", 3306, ""));
        assert_eq!(bare.ssl_mode, SslMode::Preferred);
        let v6 = parse("mysql://u@[::1]:3310/x", "me").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 3310));
    }

    #[test]
    fn bad_urls_say_what_is_wrong_and_never_echo_a_password() {
        let error = |t: &str| parse(t, "me").unwrap_err();
        assert!(error("postgres://x").contains("mysql://"));
        assert!(error("mysql://u@h:99999/x").contains("port \"99999\""));
        assert!(error("mysql://u@h/x?ssl-mode=sometimes").contains("VERIFY_IDENTITY"));
        assert!(error("mysql://u@h/x?compress=1").contains("unknown URL parameter \"compress\""));
        let e = error("mysql://u@h/x?password=hunter22");
        assert!(!e.contains("hunter22"), "{e}");
    }

    #[test]
    fn an_option_file_gives_the_client_sections_password() {
        let text = "[mysqld]\npassword=server\n[client]\nuser = ops\npassword = \"it's a secret\"\n# password=old\n";
        assert_eq!(password_in_options(text).as_deref(), Some("it's a secret"));
        assert_eq!(password_in_options("[mysql]\npassword=x\n"), None);
    }
}
