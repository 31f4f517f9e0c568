//! MongoDB connection strings (`mongodb://`, `mongodb+srv://`): the parts the
//! cockpit shows, with the password kept apart so it is never displayed.

use std::fmt;

use super::dsn::MASK;

/// A parsed MongoDB URI.
#[derive(Clone)]
pub struct MongoUri {
    /// The URI without its password.
    uri: String,
    /// `host:port` of each seed (the SRV name for `mongodb+srv://`).
    pub hosts: Vec<String>,
    pub user: Option<String>,
    /// The database in the path (default `admin`).
    pub database: String,
    password: Option<String>,
}

impl fmt::Debug for MongoUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Percent-decoding of a URI's user information.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(v) = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse a MongoDB URI.
///
/// # Errors
/// A message naming what is wrong (never the password).
pub fn parse(text: &str) -> Result<MongoUri, String> {
    let (scheme, rest) = if let Some(r) = text.strip_prefix("mongodb://") {
        ("mongodb://", r)
    } else if let Some(r) = text.strip_prefix("mongodb+srv://") {
        ("mongodb+srv://", r)
    } else {
        return Err("a MongoDB uri starts with mongodb:// or mongodb+srv://".to_owned());
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if hosts.is_empty() {
        return Err("the uri names no host".to_owned());
    }
    let (user, password) = match userinfo {
        None => (None, None),
        Some(u) => match u.split_once(':') {
            Some((user, pw)) => (Some(decode(user)), Some(decode(pw))),
            None => (Some(decode(u)), None),
        },
    };
    let path = tail.strip_prefix('/').unwrap_or(tail);
    let database = path.split('?').next().filter(|d| !d.is_empty()).unwrap_or("admin").to_owned();
    let without_password = match userinfo {
        Some(u) => format!("{scheme}{}@{hosts}{tail}", u.split(':').next().unwrap_or_default()),
        None => text.to_owned(),
    };
    Ok(MongoUri {
        uri: without_password,
        hosts: hosts.split(',').map(str::to_owned).collect(),
        user,
        database,
        password,
    })
}

impl MongoUri {
    #[must_use]
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    pub fn set_password(&mut self, password: &str) {
        self.password = Some(password.to_owned());
    }

    /// The URI safe to show: the password, if any, is `******`.
    #[must_use]
    pub fn masked(&self) -> String {
        match (&self.password, &self.user) {
            (Some(_), Some(user)) => self.uri.replacen(&format!("{user}@"), &format!("{user}:{MASK}@"), 1),
            _ => self.uri.clone(),
        }
    }

    /// The URI as the inventory gave it but without a password.
    #[must_use]
    pub fn without_password(&self) -> String {
        self.uri.clone()
    }

    /// The URI with its password (percent-encoded) in the user information:
    /// only ever passed to a driver, never shown.
    #[must_use]
    pub fn with_password(&self) -> String {
        match (&self.password, &self.user) {
            (Some(password), Some(user)) => {
                let encoded: String = password
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                            char::from(b).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect();
                self.uri.replacen(&format!("{user}@"), &format!("{user}:{encoded}@"), 1)
            }
            _ => self.uri.clone(),
        }
    }

    /// The first host, `(host, port)`.
    #[must_use]
    pub fn first_host(&self) -> (String, u16) {
        let first = self.hosts.first().cloned().unwrap_or_default();
        match first.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_owned(), p.parse().unwrap_or(27017)),
            _ => (first, 27017),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_kept_apart_and_masked() {
        let u = parse("mongodb://ops:s%40cret@db1:27017,db2:27018/app?replicaSet=rs0").unwrap();
        assert_eq!(u.password(), Some("s@cret"));
        assert_eq!(u.user.as_deref(), Some("ops"));
        assert_eq!(u.database, "app");
        assert_eq!(u.hosts, vec!["db1:27017", "db2:27018"]);
        assert_eq!(u.masked(), "mongodb://ops:******@db1:27017,db2:27018/app?replicaSet=rs0");
        assert!(!format!("{u:?}").contains("cret"));
        assert_eq!(u.first_host(), ("db1".to_owned(), 27017));
        let plain = parse("mongodb+srv://cluster0.example.net/?tls=true").unwrap();
        assert_eq!((plain.database.as_str(), plain.password()), ("admin", None));
        assert!(parse("postgres://x").is_err());
        assert!(parse("mongodb:///db").is_err());
    }
}
