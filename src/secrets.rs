//! Secrets and their masking: the one place that knows how a password can be
//! spelled in what cutover shows and records.
//!
//! A [`Secrets`] set masks every spelling of each of its secrets that the
//! program itself produces — raw; quoted for a libpq conninfo (`\'`, `\\`);
//! escaped in a `.pgpass` line (`\:`, `\\`);
//! as an SQL literal (`''`, and `E''` with `\\`); percent-encoded as in a
//! `postgres://` or `mongodb://` URI (upper- and lower-case hex); escaped in
//! JSON, also of each of those — longest spelling first, so no part of a
//! longer one is left behind. Scrub text before anything reshapes it (joins
//! its whitespace, cuts it into chunks): a reshaped secret is no longer found.
//!
//! A secret shorter than [`MIN_LEN`] characters is refused ([`Secrets::add`]):
//! masking every `a` of the output would make it unreadable, and not masking
//! it would leak it. Files that may hold what a run showed (journals, reports)
//! are opened by [`open_private`]. This module uses nothing else of the crate.

use std::fmt;
use std::fs::{File, OpenOptions, Permissions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// What a secret is replaced by.
pub const MASK: &str = "******";

/// The shortest secret that can be masked, in characters.
pub const MIN_LEN: usize = 3;

/// Strings never to show or record, in every spelling.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// Every spelling of every secret, longest first, without duplicates.
    spellings: Vec<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} spellings)", self.spellings.len())
    }
}

impl Secrets {
    /// Add a secret; `what` names it in the refusal (`endpoint "db": its
    /// password`), never the value. An empty one is nothing to mask.
    ///
    /// # Errors
    /// The secret is shorter than [`MIN_LEN`] characters: it could not be
    /// masked without making every output unreadable.
    pub fn add(&mut self, what: &str, secret: &str) -> Result<(), String> {
        // An empty password has nothing to leak.
        if secret.is_empty() {
            return Ok(());
        }
        if secret.chars().count() < MIN_LEN {
            return Err(format!(
                "{what} is shorter than {MIN_LEN} characters: cutover cannot mask it in what it shows and records, \
                 so it refuses to use it (use a longer one)"
            ));
        }
        for spelling in spellings(secret) {
            if !self.spellings.contains(&spelling) {
                self.spellings.push(spelling);
            }
        }
        self.spellings.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        Ok(())
    }

    /// Every secret of `other` too.
    pub fn extend(&mut self, other: &Secrets) {
        for spelling in &other.spellings {
            if !self.spellings.contains(spelling) {
                self.spellings.push(spelling.clone());
            }
        }
        self.spellings.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.spellings.is_empty()
    }

    /// Whether `text` holds a secret, in any spelling.
    #[must_use]
    pub fn found_in(&self, text: &str) -> bool {
        self.spellings.iter().any(|s| text.contains(s.as_str()))
    }

    /// `text` with every spelling of every secret replaced by [`MASK`].
    #[must_use]
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        self.scrub_in_place(&mut out);
        out
    }

    /// [`Secrets::scrub`] in place (for a visitor over an event's texts).
    pub fn scrub_in_place(&self, text: &mut String) {
        for spelling in &self.spellings {
            if text.contains(spelling.as_str()) {
                *text = text.replace(spelling.as_str(), MASK);
            }
        }
    }
}

/// Open `path` with `options` so that only its owner can read it: mode 0600,
/// also when the file existed with a wider mode. Journals and reports.
///
/// # Errors
/// The file cannot be opened or its mode changed.
pub fn open_private(path: &Path, options: &mut OpenOptions) -> std::io::Result<File> {
    let file = options.mode(0o600).open(path)?;
    file.set_permissions(Permissions::from_mode(0o600))?;
    Ok(file)
}

/// Every spelling of `secret` the program produces (see the module docs).
fn spellings(secret: &str) -> Vec<String> {
    let base = [
        secret.to_owned(),
        conninfo_quoted(secret),
        // A `.pgpass` line, as a shell step's password file holds it.
        secret.replace('\\', "\\\\").replace(':', "\\:"),
        secret.replace('\'', "''"),
        secret.replace('\\', "\\\\").replace('\'', "''"),
        percent_encoded(secret, false),
        percent_encoded(secret, true),
    ];
    let mut all: Vec<String> = Vec::new();
    for spelling in base {
        let json = json_escaped(&spelling);
        for s in [spelling, json] {
            if !s.is_empty() && !all.contains(&s) {
                all.push(s);
            }
        }
    }
    all
}

/// Inside a libpq conninfo's single quotes: `\` and `'` escaped by `\`.
fn conninfo_quoted(secret: &str) -> String {
    secret.replace('\\', "\\\\").replace('\'', "\\'")
}

/// Percent-encoded as in a URI's user information: everything but the
/// unreserved characters (`A-Z a-z 0-9 - . _ ~`), byte by byte.
fn percent_encoded(secret: &str, lower: bool) -> String {
    secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else if lower {
                format!("%{b:02x}")
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Inside a JSON string's quotes.
fn json_escaped(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(secrets: &[&str]) -> Secrets {
        let mut s = Secrets::default();
        for secret in secrets {
            s.add("the password", secret).unwrap();
        }
        s
    }

    #[test]
    fn every_spelling_of_a_quote_is_masked() {
        let s = set(&["it's"]);
        for text in [
            "raw it's here",
            "password='it\\'s' host=db",
            "SELECT 'it''s'",
            "postgresql://app:it%27s@db/app",
            "mongodb://app:it%27s@db/app",
            r#"{"password":"it's"}"#,
        ] {
            let scrubbed = s.scrub(text);
            assert!(scrubbed.contains(MASK), "{text} → {scrubbed}");
            assert!(!scrubbed.contains("it") && !scrubbed.contains("%27"), "{text} → {scrubbed}");
        }
        assert_eq!(s.scrub("password='it\\'s' host=db"), "password='******' host=db");
    }

    #[test]
    fn every_spelling_of_a_backslash_is_masked() {
        let s = set(&["back\\slash"]);
        for (text, expected) in [
            ("raw back\\slash", "raw ******"),
            ("password='back\\\\slash'", "password='******'"),
            ("E'back\\\\slash'", "E'******'"),
            ("u:back%5Cslash@h", "u:******@h"),
            ("u:back%5cslash@h", "u:******@h"),
            (r#"{"p":"back\\slash"}"#, r#"{"p":"******"}"#),
            // JSON of the conninfo spelling: a DSN inside a JSON reply.
            (r#"{"dsn":"password='back\\\\slash'"}"#, r#"{"dsn":"password='******'"}"#),
        ] {
            assert_eq!(s.scrub(text), expected, "{text}");
        }
    }

    #[test]
    fn every_spelling_of_a_space_and_an_at_is_masked() {
        let s = set(&["p@ss word"]);
        for (text, expected) in [
            ("raw p@ss word", "raw ******"),
            ("password='p@ss word'", "password='******'"),
            ("'p@ss word'", "'******'"),
            ("app:p%40ss%20word@db", "app:******@db"),
            ("app:p%40ss%20word@db".to_lowercase().as_str(), "app:******@db"),
            (r#""p@ss word""#, r#""******""#),
        ] {
            assert_eq!(s.scrub(text), expected, "{text}");
        }
    }

    #[test]
    fn a_colon_is_masked_as_a_password_file_escapes_it() {
        let s = set(&["se:cret"]);
        assert_eq!(s.scrub("db:5432:app:u:se\\:cret"), "db:5432:app:u:******");
        assert_eq!(s.scrub("u:se%3Acret@h"), "u:******@h");
    }

    #[test]
    fn a_percent_is_masked_raw_and_encoded_and_longest_first() {
        let s = set(&["%41"]);
        // Encoded, `%41` is `%2541`: masked whole, not as `%25` + `41`… nor
        // as `%2` + a mask.
        assert_eq!(s.scrub("u:%2541@h and %41"), "u:******@h and ******");
        assert_eq!(s.scrub("'%41' \"%41\""), "'******' \"******\"");
        // Another secret containing this one is masked whole.
        let s = set(&["%41", "x%41y"]);
        assert_eq!(s.scrub("x%41y"), MASK);
        assert_eq!(s.scrub("x%2541y"), MASK);
    }

    #[test]
    fn a_secret_too_short_to_mask_is_refused_naming_it_not_its_value() {
        let mut s = Secrets::default();
        let err = s.add("endpoint \"db\": its password", "pw").unwrap_err();
        assert!(err.starts_with("endpoint \"db\": its password is shorter than 3 characters"), "{err}");
        assert!(!err.contains("pw"), "{err}");
        assert!(s.add("x", "é€").is_err(), "characters, not bytes, are counted");
        assert!(s.add("x", "").is_ok(), "an empty password has nothing to leak");
        assert!(s.is_empty());
        assert!(s.add("x", "abc").is_ok());
        assert!(!format!("{s:?}").contains("abc"));
    }
}
