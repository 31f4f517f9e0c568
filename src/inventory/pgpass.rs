//! The libpq password file (`.pgpass`).
//!
//! One entry a line, `hostname:port:database:username:password`; a field of
//! just `*` matches anything; `\:` and `\\` stand for `:` and `\` (a backslash
//! escapes any character); lines starting with `#` are comments; the first
//! matching line wins. As in libpq, the file is ignored when it is not a plain
//! file or when group or others may access it (on Unix) — here that is an
//! error, so the caller can warn — and a missing file is simply no password.
//! The host `localhost` in the file also matches a connection through the
//! default socket directory.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Socket directories libpq may have been built with as its default; a
/// `localhost` entry matches a connection through one of them.
const DEFAULT_SOCKET_DIRS: [&str; 3] = ["/tmp", "/var/run/postgresql", "/run/postgresql"];

/// Why the password file could not be used.
#[derive(Debug)]
pub enum PgpassError {
    /// Group or others may access the file; libpq ignores such a file.
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits (`mode & 0o777`).
        mode: u32,
    },
    /// The path is not a plain file (a directory, a device, …).
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
}

impl fmt::Display for PgpassError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgpassError::TooOpen { path, mode } => write!(
                f,
                "password file {} has group or world access (mode {mode:04o}); \
                 it is ignored until its permissions are u=rw (0600) or less",
                path.display()
            ),
            PgpassError::NotAFile { path } => write!(f, "password file {} is not a plain file", path.display()),
            PgpassError::Io { path, source } => write!(f, "cannot read password file {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for PgpassError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PgpassError::Io { source, .. } => Some(source),
            PgpassError::TooOpen { .. } | PgpassError::NotAFile { .. } => None,
        }
    }
}

/// Where libpq looks for the password file: `$PGPASSFILE`, else
/// `~/.pgpass` (`%APPDATA%\postgresql\pgpass.conf` on Windows). `None` when
/// neither the variable nor the home directory is known. A `passfile=` in the
/// connection string takes precedence over this (the caller's job).
pub fn default_path(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let set = |key: &str| env(key).filter(|value| !value.is_empty());
    if let Some(file) = set("PGPASSFILE") {
        return Some(PathBuf::from(file));
    }
    if cfg!(windows) {
        set("APPDATA").map(|dir| Path::new(&dir).join("postgresql").join("pgpass.conf"))
    } else {
        set("HOME").map(|home| Path::new(&home).join(".pgpass"))
    }
}

/// The password for this connection from the file at `path`: the first line
/// whose four fields match. `Ok(None)` when the file does not exist or no
/// line matches.
///
/// # Errors
/// [`PgpassError::TooOpen`] when group or others may access the file (Unix
/// only), [`PgpassError::NotAFile`], or [`PgpassError::Io`] when it cannot be
/// read.
pub fn lookup(path: &Path, host: &str, port: u16, dbname: &str, user: &str) -> Result<Option<String>, PgpassError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(PgpassError::Io { path: path.to_path_buf(), source }),
    };
    if !meta.is_file() {
        return Err(PgpassError::NotAFile { path: path.to_path_buf() });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(PgpassError::TooOpen { path: path.to_path_buf(), mode: mode & 0o777 });
        }
    }
    let text = std::fs::read(path).map_err(|source| PgpassError::Io { path: path.to_path_buf(), source })?;
    Ok(find(&String::from_utf8_lossy(&text), host, port, dbname, user))
}

/// The first matching entry of the file's text.
fn find(text: &str, host: &str, port: u16, dbname: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    let local = host.is_empty() || DEFAULT_SOCKET_DIRS.contains(&host.trim_end_matches('/'));
    text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let fields = split(line)?;
        let [file_host, file_port, file_db, file_user, password] = fields;
        let host_ok = matches(&file_host, host) || (local && matches(&file_host, "localhost"));
        (host_ok && matches(&file_port, &port) && matches(&file_db, dbname) && matches(&file_user, user))
            .then_some(password.text)
    })
}

/// One field, unescaped, remembering whether it was a bare `*`.
struct Field {
    text: String,
    wildcard: bool,
}

fn matches(field: &Field, value: &str) -> bool {
    field.wildcard || field.text == value
}

/// The five fields of a line, or `None` when it has fewer. Like libpq, the
/// password ends at the next unescaped `:`, and the rest of the line is ignored.
fn split(line: &str) -> Option<[Field; 5]> {
    let mut fields = Vec::with_capacity(5);
    let mut chars = line.chars();
    loop {
        let mut text = String::new();
        let mut escaped = false;
        let mut ended = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(next) => {
                        text.push(next);
                        escaped = true;
                    }
                    None => text.push('\\'),
                },
                ':' => {
                    ended = true;
                    break;
                }
                c => text.push(c),
            }
        }
        let wildcard = fields.len() < 4 && text == "*" && !escaped;
        fields.push(Field { text, wildcard });
        if fields.len() == 5 {
            break;
        }
        if !ended {
            return None;
        }
    }
    fields.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::Write;

    fn write(dir: &tempfile::TempDir, text: &str, mode: u32) -> PathBuf {
        let path = dir.path().join("pgpass");
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(text.as_bytes()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        #[cfg(not(unix))]
        let _ = mode;
        path
    }

    #[test]
    fn exact_match() {
        let text = "db1:5432:app:cutover:s3cret\n";
        assert_eq!(find(text, "db1", 5432, "app", "cutover").as_deref(), Some("s3cret"));
        assert_eq!(find(text, "db2", 5432, "app", "cutover"), None);
        assert_eq!(find(text, "db1", 5433, "app", "cutover"), None);
        assert_eq!(find(text, "db1", 5432, "other", "cutover"), None);
        assert_eq!(find(text, "db1", 5432, "app", "admin"), None);
    }

    #[test]
    fn wildcards_and_first_match_wins() {
        let text = "# comment:*:*:*:nope\n\
                    db1:*:app:cutover:first\n\
                    *:*:*:cutover:second\n\
                    *:*:*:*:fallback\n\
                    db1:5432:app:cutover:too-late\n";
        assert_eq!(find(text, "db1", 6543, "app", "cutover").as_deref(), Some("first"));
        assert_eq!(find(text, "db9", 5432, "x", "cutover").as_deref(), Some("second"));
        assert_eq!(find(text, "db9", 5432, "x", "someone").as_deref(), Some("fallback"));
        assert_eq!(find(text, "# comment", 1, "*", "*").as_deref(), Some("fallback"));
    }

    #[test]
    fn escapes() {
        let text = "db\\:1:5432:my\\\\db:u\\*:pa\\:ss\\\\word\n";
        assert_eq!(find(text, "db:1", 5432, "my\\db", "u*").as_deref(), Some("pa:ss\\word"));
        // An escaped star is a literal star, not a wildcard.
        assert_eq!(find(text, "db:1", 5432, "my\\db", "ux"), None);
        let text = "\\*:*:*:*:pw\n";
        assert_eq!(find(text, "db1", 5432, "app", "u"), None);
        assert_eq!(find(text, "*", 5432, "app", "u").as_deref(), Some("pw"));
    }

    #[test]
    fn password_ends_at_an_unescaped_colon_and_short_lines_are_skipped() {
        assert_eq!(find("h:1:d:u:pw:junk\n", "h", 1, "d", "u").as_deref(), Some("pw"));
        assert_eq!(find("h:1:d:u\nh:1:d:u:ok\n", "h", 1, "d", "u").as_deref(), Some("ok"));
        assert_eq!(find("h:1:d:u:\n", "h", 1, "d", "u").as_deref(), Some(""));
        assert_eq!(find("h:1:d:u:*\n", "h", 1, "d", "u").as_deref(), Some("*"));
        assert_eq!(find("h:1:d:u:crlf\r\n", "h", 1, "d", "u").as_deref(), Some("crlf"));
        assert_eq!(find("", "h", 1, "d", "u"), None);
    }

    #[test]
    fn localhost_matches_the_default_socket_directory() {
        let text = "localhost:5432:app:u:local\n";
        assert_eq!(find(text, "/var/run/postgresql", 5432, "app", "u").as_deref(), Some("local"));
        assert_eq!(find(text, "/tmp", 5432, "app", "u").as_deref(), Some("local"));
        assert_eq!(find(text, "localhost", 5432, "app", "u").as_deref(), Some("local"));
        assert_eq!(find(text, "/srv/sockets", 5432, "app", "u"), None);
        assert_eq!(find(text, "127.0.0.1", 5432, "app", "u"), None);
    }

    #[test]
    fn lookup_reads_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "db1:5432:app:cutover:s3cret\n", 0o600);
        assert_eq!(lookup(&path, "db1", 5432, "app", "cutover").unwrap().as_deref(), Some("s3cret"));
        assert_eq!(lookup(&path, "db2", 5432, "app", "cutover").unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn lookup_refuses_a_file_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o640, 0o604, 0o610, 0o644] {
            let path = write(&dir, "*:*:*:*:s3cret\n", mode);
            match lookup(&path, "db1", 5432, "app", "cutover") {
                Err(PgpassError::TooOpen { path: p, mode: m }) => {
                    assert_eq!(p, path);
                    assert_eq!(m, mode);
                }
                other => panic!("mode {mode:o}: {other:?}"),
            }
            let message = lookup(&path, "db1", 5432, "app", "cutover").unwrap_err().to_string();
            assert!(message.contains(&path.display().to_string()) && !message.contains("s3cret"), "{message}");
        }
        let path = write(&dir, "*:*:*:*:s3cret\n", 0o400);
        assert_eq!(lookup(&path, "db1", 5432, "app", "cutover").unwrap().as_deref(), Some("s3cret"));
    }

    #[test]
    fn lookup_of_a_missing_file_is_no_password() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(lookup(&dir.path().join("absent"), "h", 1, "d", "u").unwrap(), None);
    }

    #[test]
    fn lookup_of_a_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = lookup(dir.path(), "h", 1, "d", "u").unwrap_err();
        assert!(matches!(err, PgpassError::NotAFile { .. }), "{err:?}");
    }

    #[test]
    fn default_path_prefers_pgpassfile() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |key: &str| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| (*v).to_string())
        };
        assert_eq!(
            default_path(env(&[("PGPASSFILE", "/etc/cutover/pgpass"), ("HOME", "/home/op")])),
            Some(PathBuf::from("/etc/cutover/pgpass"))
        );
        #[cfg(unix)]
        assert_eq!(default_path(env(&[("HOME", "/home/op")])), Some(PathBuf::from("/home/op/.pgpass")));
        #[cfg(unix)]
        assert_eq!(
            default_path(env(&[("PGPASSFILE", ""), ("HOME", "/home/op")])),
            Some(PathBuf::from("/home/op/.pgpass"))
        );
        assert_eq!(default_path(env(&[])), None);
    }
}
