//! `${name}` in runbook text: finding the references, and expanding them with
//! secrets kept apart — every value has the text that is executed and the text
//! that may be shown (journal, screen, `plan`), where secrets are masked.
//!
//! Names:
//! - `NAME` — the runbook's `[vars]`, overridden by the inventory's `[vars]`
//!   and by `--var NAME=VALUE`;
//! - `ENDPOINT.dsn`, `.uri`, `.host`, `.port`, `.user`, `.dbname` — from the
//!   inventory (`uri` is a MongoDB endpoint's `mongodb://` URI, for PostgreSQL
//!   the same as `dsn`; in `shell` commands neither carries a password: libpq
//!   gets it through a temporary `PGPASSFILE` instead, so it never shows in the
//!   process list);
//! - `env.NAME` — the process environment (masked when the name looks secret);
//! - `operator` — who runs the runbook.
//!
//! `$${` is a literal `${`.

use std::collections::BTreeMap;

use crate::secrets::{MASK, Secrets};

/// Endpoint fields a runbook may reference.
pub const ENDPOINT_FIELDS: [&str; 6] = ["dsn", "uri", "host", "port", "user", "dbname"];

/// A piece of runbook text: literal text, or a reference at a byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Var { name: &'a str, offset: usize },
}

/// Split `text` into literal text and `${name}` references.
///
/// # Errors
/// The byte offset and a message for an unterminated or empty reference.
pub fn scan(text: &str) -> Result<Vec<Piece<'_>>, (usize, String)> {
    let mut pieces = Vec::new();
    let mut rest = 0;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        if text[i..].starts_with("$${") {
            pieces.push(Piece::Text(&text[rest..i]));
            pieces.push(Piece::Text("${"));
            i += 3;
            rest = i;
        } else if text[i..].starts_with("${") {
            pieces.push(Piece::Text(&text[rest..i]));
            let start = i + 2;
            let Some(len) = text[start..].find('}') else {
                return Err((i, "unterminated `${`: close it with `}` (write `$${` for a literal `${`)".to_owned()));
            };
            let name = &text[start..start + len];
            let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !valid {
                return Err((start, format!("`${{{name}}}` is not a variable name (letters, digits, _ . -)")));
            }
            pieces.push(Piece::Var { name, offset: start });
            i = start + len + 1;
            rest = i;
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    pieces.push(Piece::Text(&text[rest..]));
    pieces.retain(|p| !matches!(p, Piece::Text("")));
    Ok(pieces)
}

/// A resolved value: what is executed, and what may be shown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Value {
    pub plain: String,
    pub shown: String,
}

impl Value {
    #[must_use]
    pub fn public(text: impl Into<String>) -> Self {
        let text = text.into();
        Self { shown: text.clone(), plain: text }
    }
}

/// Where text is used: a `shell` command gets password-free DSNs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    Database,
    Shell,
}

/// Every value a runbook's `${…}` can take in one run.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    values: BTreeMap<String, Value>,
    /// `ENDPOINT.dsn` and `ENDPOINT.uri` for shell commands: no password.
    shell_only: BTreeMap<String, String>,
    env: BTreeMap<String, Value>,
    /// What to scrub from anything shown (output, errors): every endpoint's
    /// password (the inventory's, see [`Scope::scrub_also`]) and secret
    /// environment variables.
    secrets: Secrets,
}

/// Whether an environment variable's name says it holds a secret.
#[must_use]
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["PASS", "SECRET", "TOKEN", "KEY", "CREDENTIAL"].iter().any(|w| upper.contains(w))
}

impl Scope {
    /// A plain variable.
    pub fn set(&mut self, name: &str, value: &str) {
        self.values.insert(name.to_owned(), Value::public(value));
    }

    /// An endpoint's fields; `dsn_plain` may hold a password, `dsn_shown` and
    /// `dsn_shell` must not.
    pub fn set_endpoint(&mut self, name: &str, dsn: &crate::inventory::Dsn) {
        let shown = dsn.masked();
        let plain = dsn.libpq(true);
        self.values.insert(format!("{name}.dsn"), Value { plain: plain.clone(), shown: shown.clone() });
        self.values.insert(format!("{name}.uri"), Value { plain, shown });
        self.shell_only.insert(format!("{name}.dsn"), dsn.libpq(false));
        self.shell_only.insert(format!("{name}.uri"), dsn.libpq(false));
        self.set(&format!("{name}.host"), &dsn.host);
        self.set(&format!("{name}.port"), &dsn.port.to_string());
        self.set(&format!("{name}.user"), &dsn.user);
        self.set(&format!("{name}.dbname"), &dsn.dbname);
    }

    /// A MongoDB endpoint: its fields as [`Scope::set_endpoint`] gives them
    /// (host and port of the first seed), `uri` its connection string.
    pub fn set_mongo_endpoint(&mut self, name: &str, dsn: &crate::inventory::Dsn, uri: &crate::inventory::MongoUri) {
        self.set_endpoint(name, dsn);
        let (plain, shown, shell) = (uri.with_password(), uri.masked(), uri.without_password());
        self.values.insert(format!("{name}.uri"), Value { plain, shown });
        self.shell_only.insert(format!("{name}.uri"), shell);
    }

    /// An environment variable's value (masked when `secret`).
    ///
    /// # Errors
    /// A secret too short to mask (see [`Secrets::add`]), naming the variable.
    pub fn set_env(&mut self, name: &str, value: &str, secret: bool) -> Result<(), String> {
        if secret {
            self.secrets.add(&format!("the environment variable {name}"), value)?;
        }
        let shown = if secret { MASK.to_owned() } else { value.to_owned() };
        self.env.insert(name.to_owned(), Value { plain: value.to_owned(), shown });
        Ok(())
    }

    /// Scrub these secrets too (the inventory's passwords: every endpoint's,
    /// not only those the runbook names — a shell step's password file holds all).
    pub fn scrub_also(&mut self, secrets: &Secrets) {
        self.secrets.extend(secrets);
    }

    fn lookup(&self, name: &str, context: Context) -> Option<Value> {
        if let Some(var) = name.strip_prefix("env.") {
            return self.env.get(var).cloned();
        }
        if context == Context::Shell {
            if let Some(text) = self.shell_only.get(name) {
                return Some(Value { plain: text.clone(), shown: text.clone() });
            }
        }
        self.values.get(name).cloned()
    }

    /// Expand every `${…}` of `text`.
    ///
    /// # Errors
    /// The byte offset and a message for the first reference that cannot be resolved.
    pub fn expand(&self, text: &str, context: Context) -> Result<Value, (usize, String)> {
        let mut out = Value::default();
        for piece in scan(text)? {
            match piece {
                Piece::Text(t) => {
                    out.plain.push_str(t);
                    out.shown.push_str(t);
                }
                Piece::Var { name, offset } => {
                    let Some(value) = self.lookup(name, context) else {
                        let why = if let Some(var) = name.strip_prefix("env.") {
                            format!("the environment variable {var} is not set")
                        } else {
                            "it is not defined (runbook [vars], inventory [vars], --var, ENDPOINT.dsn|host|port|user|dbname, env.NAME, operator)".to_owned()
                        };
                        return Err((offset, format!("cannot resolve `${{{name}}}`: {why}")));
                    };
                    out.plain.push_str(&value.plain);
                    out.shown.push_str(&value.shown);
                }
            }
        }
        Ok(out)
    }

    /// `text` with every spelling of every known secret replaced by the mask.
    #[must_use]
    pub fn scrub(&self, text: &str) -> String {
        self.secrets.scrub(text)
    }

    /// The secrets, for scrubbers outside this scope (e.g. a journal writer).
    #[must_use]
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_references_and_literal_dollars() {
        let pieces = scan("a ${x} b $${y} ${e.dsn}").unwrap();
        assert_eq!(
            pieces,
            vec![
                Piece::Text("a "),
                Piece::Var { name: "x", offset: 4 },
                Piece::Text(" b "),
                Piece::Text("${"),
                Piece::Text("y} "),
                Piece::Var { name: "e.dsn", offset: 17 },
            ]
        );
        assert_eq!(scan("x ${oops").unwrap_err().0, 2);
        assert_eq!(scan("${1x}").unwrap_err().0, 2);
        assert_eq!(scan("é ${é}").unwrap_err().0, 5);
    }

    #[test]
    fn secrets_are_masked_when_shown_and_kept_when_executed() {
        let mut scope = Scope::default();
        let dsn =
            crate::inventory::dsn::parse_with_env("host=db port=5433 user=u dbname=app password=hunter2", |_| None)
                .unwrap();
        scope.set_endpoint("source", &dsn);
        let mut passwords = Secrets::default();
        passwords.add("the password", "hunter2").unwrap();
        scope.scrub_also(&passwords);
        scope.set_env("APP_TOKEN", "tok-123", looks_secret("APP_TOKEN")).unwrap();
        scope.set_env("REGION", "eu", looks_secret("REGION")).unwrap();
        let err = scope.set_env("DB_PASSWORD", "pw", looks_secret("DB_PASSWORD")).unwrap_err();
        assert!(err.starts_with("the environment variable DB_PASSWORD is shorter than 3"), "{err}");
        let v = scope.expand("CONNECTION '${source.dsn}' ${env.APP_TOKEN} ${env.REGION}", Context::Database).unwrap();
        assert!(v.plain.contains("password=hunter2") && v.plain.contains("tok-123"), "{}", v.plain);
        assert!(!v.shown.contains("hunter2") && !v.shown.contains("tok-123"), "{}", v.shown);
        assert!(v.shown.ends_with(" eu"));
        let shell = scope.expand("psql \"${source.dsn}\"", Context::Shell).unwrap();
        assert!(!shell.plain.contains("hunter2") && shell.plain.contains("port=5433"), "{}", shell.plain);
        assert_eq!(scope.scrub("auth failed for hunter2 (tok-123)"), "auth failed for ****** (******)");
        let err = scope.expand("x ${nope}", Context::Database).unwrap_err();
        assert_eq!(err.0, 4);
        assert!(err.1.contains("not defined"), "{}", err.1);
    }
}
