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
//!
//! A reference may say how its value is quoted for where it goes:
//! `${name:ident}`, `${name:literal}`, `${name:sh}`, `${name:raw}` (see
//! [`Modifier`]). Without one, a value inside quotes the author wrote is
//! escaped for those quotes, and elsewhere spliced as it is (`cutover check`
//! warns). In a `shell` command every value that is quoted, and every secret,
//! reaches the command through its environment (`"${CUTOVER_V1}"`), never its
//! argument vector.

use std::collections::BTreeMap;

pub use super::quoting::Modifier;
use super::quoting::{self, Position, ShellLexer, SqlLexer};
use crate::secrets::{MASK, Secrets};

/// Endpoint fields a runbook may reference.
pub const ENDPOINT_FIELDS: [&str; 6] = ["dsn", "uri", "host", "port", "user", "dbname"];

/// A piece of runbook text: literal text, or a reference at a byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Var { name: &'a str, offset: usize, modifier: Option<Modifier> },
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
            let (name, modifier) = match text[start..start + len].split_once(':') {
                None => (&text[start..start + len], None),
                Some((name, word)) => match Modifier::parse(word) {
                    Some(m) => (name, Some(m)),
                    None => {
                        let at = start + name.len() + 1;
                        return Err((
                            at,
                            format!(
                                "`${{{name}:{word}}}`: unknown modifier `:{word}` (use :{})",
                                Modifier::NAMES.join(", :")
                            ),
                        ));
                    }
                },
            };
            let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !valid {
                return Err((start, format!("`${{{name}}}` is not a variable name (letters, digits, _ . -)")));
            }
            pieces.push(Piece::Var { name, offset: start, modifier });
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
    /// SQL text: values are quoted by modifier, or for the quotes around them.
    Sql,
    /// Data for a database (expected values, MongoDB strings, instructions):
    /// values as they are.
    Database,
    /// A `sh -c` command (see [`Scope::expand_shell`]).
    Shell,
}

/// A `shell` command ready to run: its text (`plain` refers to quoted values
/// as `"${CUTOVER_V1}"`…) and the environment that carries those values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShellCommand {
    pub run: Value,
    pub env: Vec<(String, String)>,
}

/// The environment variable that carries a shell command's `n`th value.
#[must_use]
pub fn shell_env_name(n: usize) -> String {
    format!("CUTOVER_V{n}")
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

    /// A variable as resolved (a default may hold a masked `${env.TOKEN}`).
    pub fn set_value(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_owned(), value);
    }

    /// A variable whose value is a secret (`--var-env`): masked when shown.
    ///
    /// # Errors
    /// A secret too short to mask (see [`Secrets::add`]), naming the variable.
    pub fn set_secret(&mut self, name: &str, value: &str) -> Result<(), String> {
        self.values.insert(name.to_owned(), Value { plain: value.to_owned(), shown: MASK.to_owned() });
        self.add_secret(&format!("the variable {name}"), value)
    }

    /// Scrub `secret` from everything shown; `what` names it in a refusal.
    ///
    /// # Errors
    /// A secret too short to mask (see [`Secrets::add`]).
    pub fn add_secret(&mut self, what: &str, secret: &str) -> Result<(), String> {
        self.secrets.add(what, secret)
    }

    /// Whether a value is or holds a secret.
    fn is_secret(&self, value: &Value) -> bool {
        value.plain != value.shown || self.secrets.found_in(&value.plain)
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

    /// A MySQL endpoint: its fields as [`Scope::set_endpoint`] gives them,
    /// `dsn` and `uri` its URL without a password (a shell command gets the
    /// password as `MYSQL_PWD`, see [`crate::runbook::exec`]).
    pub fn set_mysql_endpoint(&mut self, name: &str, dsn: &crate::inventory::Dsn, url: &crate::inventory::MysqlUrl) {
        self.set_endpoint(name, dsn);
        let bare = url.without_password();
        for field in ["dsn", "uri"] {
            self.values.insert(format!("{name}.{field}"), Value { plain: bare.clone(), shown: bare.clone() });
            self.shell_only.insert(format!("{name}.{field}"), bare.clone());
        }
        if url.database.is_empty() {
            self.set(&format!("{name}.dbname"), "");
        }
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

    fn resolve(&self, name: &str, offset: usize, context: Context) -> Result<Value, (usize, String)> {
        self.lookup(name, context).ok_or_else(|| {
            let why = if let Some(var) = name.strip_prefix("env.") {
                format!("the environment variable {var} is not set")
            } else {
                "it is not defined (runbook [vars], inventory [vars], --var, ENDPOINT.dsn|host|port|user|dbname, env.NAME, operator)".to_owned()
            };
            (offset, format!("cannot resolve `${{{name}}}`: {why}"))
        })
    }

    /// Expand every `${…}` of `text` (for a `shell` command, see
    /// [`Scope::expand_shell`]).
    ///
    /// # Errors
    /// The byte offset and a message for the first reference that cannot be
    /// resolved or quoted.
    pub fn expand(&self, text: &str, context: Context) -> Result<Value, (usize, String)> {
        if context == Context::Shell {
            return self.expand_shell(text).map(|c| c.run);
        }
        let mut out = Value::default();
        let mut lexer = SqlLexer::default();
        for piece in scan(text)? {
            match piece {
                Piece::Text(t) => {
                    lexer.feed(t);
                    out.plain.push_str(t);
                    out.shown.push_str(t);
                }
                Piece::Var { name, offset, modifier } => {
                    let value = self.resolve(name, offset, context)?;
                    let position = if context == Context::Sql { lexer.position() } else { Position::Bare };
                    let quote = |v: &str| sql_quoted(v, modifier, &position).map_err(|e| (offset, e));
                    out.plain.push_str(&quote(&value.plain)?);
                    out.shown.push_str(&quote(&value.shown)?);
                }
            }
        }
        Ok(out)
    }

    /// Expand a `shell` command. A value goes to the command through its
    /// environment — the text says `"${CUTOVER_Vn}"` — when it is quoted (by a
    /// modifier, or by quotes around it) and whenever it is a secret, so it is
    /// never in the process list; only an unquoted value without a modifier,
    /// or a `:raw` one, is spliced into the text, and a secret cannot be.
    ///
    /// # Errors
    /// The byte offset and a message for the first reference that cannot be
    /// resolved, or a secret given `:raw`.
    pub fn expand_shell(&self, text: &str) -> Result<ShellCommand, (usize, String)> {
        let mut out = ShellCommand::default();
        let mut lexer = ShellLexer::default();
        for piece in scan(text)? {
            match piece {
                Piece::Text(t) => {
                    lexer.feed(t);
                    out.run.plain.push_str(t);
                    out.run.shown.push_str(t);
                }
                Piece::Var { name, offset, modifier } => {
                    let value = self.resolve(name, offset, Context::Shell)?;
                    let secret = self.is_secret(&value);
                    let transform = |v: &str| match modifier {
                        Some(Modifier::Ident) => quoting::ident(v),
                        Some(Modifier::Literal) => quoting::literal(v),
                        _ => v.to_owned(),
                    };
                    let (plain, shown) = (transform(&value.plain), transform(&value.shown));
                    let position = lexer.position();
                    let verbatim = match modifier {
                        Some(Modifier::Raw) => true,
                        None => position == Position::Bare,
                        Some(_) => false,
                    };
                    if verbatim && secret && modifier == Some(Modifier::Raw) {
                        return Err((
                            offset,
                            format!("`${{{name}:raw}}` would put a secret on the command line: write `${{{name}:sh}}`"),
                        ));
                    }
                    if verbatim && !secret {
                        out.run.plain.push_str(&plain);
                        out.run.shown.push_str(&shown);
                        continue;
                    }
                    let var = shell_env_name(out.env.len() + 1);
                    out.run.plain.push_str(&match position {
                        Position::Double => format!("${{{var}}}"),
                        Position::Single => format!("'\"${{{var}}}\"'"),
                        _ => format!("\"${{{var}}}\""),
                    });
                    out.run.shown.push_str(&if position == Position::Bare { quoting::sh_word(&shown) } else { shown });
                    out.env.push((var, plain));
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

/// A value quoted for SQL: by its modifier, else for the quotes around it
/// (`'…'` doubles `'`, `E'…'` escapes `\` and `'`, `"…"` doubles `"`; a
/// dollar quote cannot be escaped, so a value that could end it is refused).
fn sql_quoted(value: &str, modifier: Option<Modifier>, position: &Position) -> Result<String, String> {
    Ok(match (modifier, position) {
        (Some(Modifier::Ident), _) => quoting::ident(value),
        (Some(Modifier::Literal), _) => quoting::literal(value),
        (Some(Modifier::Sh), _) => quoting::sh_word(value),
        (Some(Modifier::Raw), _) | (None, Position::Bare) => value.to_owned(),
        (None, Position::Single) => value.replace('\'', "''"),
        (None, Position::Escaped) => value.replace('\\', "\\\\").replace('\'', "''"),
        (None, Position::Double) => value.replace('"', "\"\""),
        (None, Position::Dollar(tag)) => {
            let close = format!("${tag}$");
            let ends = (1..close.len()).any(|n| value.ends_with(&close[..n]) || value.starts_with(&close[n..]));
            if value.contains(&close) || ends {
                return Err(format!(
                    "the value could end the dollar quote {close} around it: use ${{…:literal}} instead of the dollar quote"
                ));
            }
            value.to_owned()
        }
    })
}

/// The kind of text a step splices values into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Sql,
    Shell,
}

/// Splices in `text` that deserve a warning, with the byte offset of their
/// `${`: a value without a modifier where no quotes around it can be seen,
/// or a SQL identifier or literal put inside quotes again.
#[must_use]
pub fn lint(text: &str, lang: Lang) -> Vec<(usize, String)> {
    let Ok(pieces) = scan(text) else { return Vec::new() };
    let (mut sql, mut shell) = (SqlLexer::default(), ShellLexer::default());
    let mut warnings = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => match lang {
                Lang::Sql => sql.feed(t),
                Lang::Shell => shell.feed(t),
            },
            Piece::Var { name, offset, modifier } => {
                let position = match lang {
                    Lang::Sql => sql.position(),
                    Lang::Shell => shell.position(),
                };
                let at = offset.saturating_sub(2);
                match (lang, modifier, &position) {
                    (Lang::Sql, None, Position::Bare) => warnings.push((
                        at,
                        format!(
                            "`${{{name}}}` is spliced into SQL as it is: write `${{{name}:literal}}` for a value, `${{{name}:ident}}` for a name, or `${{{name}:raw}}` for SQL text"
                        ),
                    )),
                    (Lang::Shell, None, Position::Bare) => warnings.push((
                        at,
                        format!(
                            "`${{{name}}}` is spliced into the shell command as it is: write `${{{name}:sh}}` for one word, or `${{{name}:raw}}` for shell text"
                        ),
                    )),
                    (Lang::Sql, Some(m @ (Modifier::Ident | Modifier::Literal)), p) if *p != Position::Bare => {
                        warnings.push((
                            at,
                            format!("`${{{name}:{}}}` is quoted already: remove the quotes around it", m.name()),
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
    warnings
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
                Piece::Var { name: "x", offset: 4, modifier: None },
                Piece::Text(" b "),
                Piece::Text("${"),
                Piece::Text("y} "),
                Piece::Var { name: "e.dsn", offset: 17, modifier: None },
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
        let shell = scope.expand_shell("psql \"${source.dsn}\"").unwrap();
        assert_eq!(shell.run.plain, "psql \"${CUTOVER_V1}\"");
        assert!(!shell.env[0].1.contains("hunter2") && shell.env[0].1.contains("port=5433"), "{:?}", shell.env);
        assert_eq!(scope.scrub("auth failed for hunter2 (tok-123)"), "auth failed for ****** (******)");
        let err = scope.expand("x ${nope}", Context::Database).unwrap_err();
        assert_eq!(err.0, 4);
        assert!(err.1.contains("not defined"), "{}", err.1);
    }

    /// Every character that breaks a statement or a command line.
    const NASTY: &str = "it's \"x\"; DROP TABLE keep; -- a\\b\nc";

    fn nasty_scope() -> Scope {
        let mut scope = Scope::default();
        scope.set("v", NASTY);
        scope.set_env("APP_TOKEN", "tok-123", true).unwrap();
        scope
    }

    #[test]
    fn modifiers_quote_sql_for_where_the_value_goes() {
        let scope = nasty_scope();
        let sql = |t: &str| scope.expand(t, Context::Sql).unwrap().plain;
        assert_eq!(sql("DROP TABLE ${v:ident}"), "DROP TABLE \"it's \"\"x\"\"; DROP TABLE keep; -- a\\b\nc\"");
        assert_eq!(sql("SELECT ${v:literal}"), "SELECT E'it''s \"x\"; DROP TABLE keep; -- a\\\\b\nc'");
        assert_eq!(sql("SELECT ${v:raw}"), format!("SELECT {NASTY}"));
        assert_eq!(sql("SELECT ${v:sh}"), "SELECT 'it'\\''s \"x\"; DROP TABLE keep; -- a\\b\nc'");
        // Without a modifier: escaped for the quotes around it, verbatim elsewhere.
        assert_eq!(sql("SELECT '${v}'"), "SELECT 'it''s \"x\"; DROP TABLE keep; -- a\\b\nc'");
        assert_eq!(sql("SELECT E'${v}'"), "SELECT E'it''s \"x\"; DROP TABLE keep; -- a\\\\b\nc'");
        assert_eq!(sql("SELECT 1 AS \"${v}\""), "SELECT 1 AS \"it's \"\"x\"\"; DROP TABLE keep; -- a\\b\nc\"");
        assert_eq!(sql("SELECT ${v}"), format!("SELECT {NASTY}"));
        let err = scope.expand("SELECT $q$${v}$q$", Context::Sql).map(|v| v.plain);
        assert_eq!(sql("SELECT $q$ ${v} $q$"), format!("SELECT $q$ {NASTY} $q$"));
        assert!(err.is_ok(), "`$${{` is a literal: {err:?}");
        let mut dollar = Scope::default();
        dollar.set("v", "x $q$; DROP TABLE keep; --");
        assert!(dollar.expand("SELECT $q$ ${v} $q$", Context::Sql).unwrap_err().1.contains("dollar quote"));
        // The shown text is quoted the same way, the secret masked.
        let v = scope.expand("SELECT ${env.APP_TOKEN:literal}", Context::Sql).unwrap();
        assert_eq!((v.plain.as_str(), v.shown.as_str()), ("SELECT 'tok-123'", "SELECT '******'"));
        // Data for a database (expected values, instructions) is not SQL.
        assert_eq!(scope.expand("'${v}'", Context::Database).unwrap().plain, format!("'{NASTY}'"));
    }

    #[test]
    fn shell_commands_get_quoted_values_through_the_environment() {
        let scope = nasty_scope();
        let c = scope
            .expand_shell("printf '%s' ${v:sh} \"${v}\" '${v}' ${v:literal} \"${v:ident}\" ${v} ${env.APP_TOKEN}")
            .unwrap();
        assert_eq!(
            c.run.plain,
            "printf '%s' \"${CUTOVER_V1}\" \"${CUTOVER_V2}\" ''\"${CUTOVER_V3}\"'' \"${CUTOVER_V4}\" \"${CUTOVER_V5}\" \
             it's \"x\"; DROP TABLE keep; -- a\\b\nc \"${CUTOVER_V6}\""
        );
        let values: Vec<&str> = c.env.iter().map(|(_, v)| v.as_str()).collect();
        let (literal, ident) = (quoting::literal(NASTY), quoting::ident(NASTY));
        assert_eq!(values, [NASTY, NASTY, NASTY, literal.as_str(), ident.as_str(), "tok-123"]);
        assert!(c.env.iter().enumerate().all(|(i, (k, _))| *k == format!("CUTOVER_V{}", i + 1)));
        assert!(!c.run.plain.contains("tok-123") && !c.run.shown.contains("tok-123"), "{}", c.run.shown);
        assert!(c.run.shown.starts_with("printf '%s' 'it'\\''s"), "shown as one word: {}", c.run.shown);
        // A secret cannot be spliced verbatim.
        let err = scope.expand_shell("echo ${env.APP_TOKEN:raw}").unwrap_err();
        assert_eq!(err.0, 7);
        assert!(err.1.contains("secret"), "{}", err.1);
        assert_eq!(scope.expand_shell("echo ${v:raw}").unwrap().run.plain, format!("echo {NASTY}"));
    }

    #[test]
    fn an_unknown_modifier_is_an_error_at_itself() {
        let err = scan("SELECT ${x:quoted}").unwrap_err();
        assert_eq!(err.0, 11, "at the modifier: {}", err.1);
        assert!(err.1.contains("unknown modifier `:quoted`") && err.1.contains(":ident"), "{}", err.1);
        assert_eq!(
            scan("${a.b:ident}").unwrap(),
            vec![Piece::Var { name: "a.b", offset: 2, modifier: Some(Modifier::Ident) }]
        );
    }

    #[test]
    fn lint_warns_of_unquoted_splices_only() {
        let offsets = |t: &str, lang| lint(t, lang).into_iter().map(|(o, _)| o).collect::<Vec<_>>();
        let sql = "SELECT ${a}, '${b}', \"${c}\", ${d:literal}, ${e:raw}, '${f:literal}' -- ${g}";
        assert_eq!(offsets(sql, Lang::Sql), [7, 54, 71]);
        assert!(lint(sql, Lang::Sql)[0].1.contains("`${a:literal}` for a value"), "{:?}", lint(sql, Lang::Sql));
        assert!(lint(sql, Lang::Sql)[1].1.contains("quoted already"));
        let sh = "psql \"${a}\" -c '${b}' ${c:sh} ${d} $(echo ${e})";
        assert_eq!(offsets(sh, Lang::Shell), [30, 42]);
        assert!(lint(sh, Lang::Shell)[0].1.contains("`${d:sh}`"));
    }
}
