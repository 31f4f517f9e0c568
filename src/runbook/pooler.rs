//! PgBouncer steps: `PAUSE`, `RESUME` and `RELOAD` on the pooler's admin
//! console, and the repoint of one pooler database to another server — the
//! `[databases]` entry of `pgbouncer.ini` rewritten (host, port, dbname, and
//! user when the target names one; every other setting of the entry kept),
//! written atomically (a temporary file beside it, fsync, rename, fsync of
//! the directory) after a backup of the previous file, then `RELOAD`. Where
//! the pooler's file is on another machine, the inventory's
//! `repoint_command` does the rewrite instead, given the new line.
//!
//! The ini editing here is pure text in, text out; the file operations are
//! the few functions at the end.

use std::io::Write;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr, eyre};

use crate::inventory::Dsn;
use crate::inventory::pooler::Where;

/// What a `pgbouncer` step does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `PAUSE [db]`: in-flight transactions finish, new ones queue.
    Pause(Option<String>),
    /// `RESUME [db]`: the queue goes to the servers.
    Resume(Option<String>),
    /// `RELOAD`: the pooler reads its configuration again.
    Reload,
    /// Point pooler database `database` at inventory endpoint `to`.
    Repoint { database: String, to: String },
}

impl Op {
    /// The admin console command, for pause, resume and reload.
    #[must_use]
    pub fn command(&self) -> Option<String> {
        let with = |verb: &str, db: &Option<String>| match db {
            Some(db) => format!("{verb} {}", console_name(db)),
            None => verb.to_owned(),
        };
        match self {
            Self::Pause(db) => Some(with("PAUSE", db)),
            Self::Resume(db) => Some(with("RESUME", db)),
            Self::Reload => Some("RELOAD".to_owned()),
            Self::Repoint { .. } => None,
        }
    }
}

/// A database name as the admin console takes it: plain when it is a plain
/// identifier, else double-quoted.
fn console_name(db: &str) -> String {
    if !db.is_empty() && db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        db.to_owned()
    } else {
        format!("\"{}\"", db.replace('"', "\"\""))
    }
}

/// A repoint, resolved: where, and the entry's line before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repoint {
    pub database: String,
    pub to: String,
    pub place: Where,
    /// The entry as it is now (`None` through a command: it is not read here).
    pub before: Option<String>,
    pub after: String,
}

/// Every entry of the `[databases]` section: its line index, its name and
/// the line. Section names are matched without regard to case; comments
/// (`;`, `#`) and blank lines are skipped.
fn entries(ini: &str) -> impl Iterator<Item = (usize, &str, &str)> {
    let mut in_databases = false;
    ini.lines().enumerate().filter_map(move |(i, line)| {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_databases =
                trimmed.trim_start_matches('[').trim_end_matches(']').trim().eq_ignore_ascii_case("databases");
            return None;
        }
        if !in_databases || trimmed.starts_with(';') || trimmed.starts_with('#') {
            return None;
        }
        let (key, _) = trimmed.split_once('=')?;
        Some((i, key.trim().trim_matches('"'), line))
    })
}

/// The `[databases]` entry for `database` in an ini text: its line index and text.
#[must_use]
pub fn entry<'a>(ini: &'a str, database: &str) -> Option<(usize, &'a str)> {
    entries(ini).find(|(_, name, _)| *name == database).map(|(i, _, line)| (i, line))
}

/// The databases a `[databases]` section defines.
#[must_use]
pub fn databases(ini: &str) -> Vec<String> {
    entries(ini).map(|(_, name, _)| name.to_owned()).collect()
}

/// `key=value` pairs of a pooler connection string; values may be
/// single-quoted (`'a b'`, `''` inside for a quote).
fn pairs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            break;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek() != Some(&'=') {
            out.push((key, String::new()));
            continue;
        }
        chars.next();
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '\'' {
                    if chars.peek() == Some(&'\'') {
                        value.push('\'');
                        chars.next();
                        continue;
                    }
                    break;
                }
                value.push(c);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key, value));
    }
    out
}

fn quoted(value: &str) -> String {
    if !value.is_empty() && !value.chars().any(|c| c.is_whitespace() || c == '\'') {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

/// The entry `line` pointed at `target`: host, port and dbname replaced (or
/// added), `user` replaced only when the entry names one; every other
/// setting (pool_size, auth_user, …) kept, in order.
#[must_use]
pub fn repointed(line: &str, target: &Dsn) -> String {
    let (name, settings) = line.split_once('=').map_or((line, ""), |(n, s)| (n, s));
    let mut pairs = pairs(settings);
    let mut set =
        |key: &str, value: String, add: bool| match pairs.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            Some(pair) => pair.1 = value,
            None if add => pairs.push((key.to_owned(), value)),
            None => {}
        };
    set("host", target.host.clone(), true);
    set("port", target.port.to_string(), true);
    set("dbname", target.dbname.clone(), true);
    set("user", target.user.clone(), false);
    let settings: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", quoted(v))).collect();
    format!("{} = {}", name.trim(), settings.join(" "))
}

/// `ini` with line `index` replaced by `line` (the file's line ending kept).
#[must_use]
pub fn replace_line(ini: &str, index: usize, line: &str) -> String {
    let mut out = String::with_capacity(ini.len() + line.len());
    for (i, piece) in ini.split_inclusive('\n').enumerate() {
        if i == index {
            out.push_str(line);
            let ending = &piece[piece.trim_end_matches(['\r', '\n']).len()..];
            out.push_str(ending);
        } else {
            out.push_str(piece);
        }
    }
    out
}

/// Read the ini file and plan the repoint of `database` to `target`.
///
/// # Errors
/// The file cannot be read, or defines no such database (the message lists those it has).
pub fn plan(path: &Path, database: &str, to: &str, target: &Dsn) -> Result<Repoint, String> {
    let ini = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let Some((_, line)) = entry(&ini, database) else {
        return Err(format!(
            "{} has no database \"{database}\" in [databases] (it has: {})",
            path.display(),
            databases(&ini).join(", ")
        ));
    };
    Ok(Repoint {
        database: database.to_owned(),
        to: to.to_owned(),
        place: Where::File(path.to_owned()),
        before: Some(line.trim_end().to_owned()),
        after: repointed(line.trim_end(), target),
    })
}

/// What a rewrite did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rewritten {
    /// The entry read `before`, now `after`; the previous file is `backup`.
    Changed { before: String, after: String, backup: PathBuf },
    /// The entry already read `after`: nothing written.
    Already { after: String },
}

/// Point the file's entry for `database` at `target`, from whatever it reads
/// now (a rollback's repoint is planned before the forward one moved it).
/// The previous file is kept as `FILE.cutover-TIME.bak`.
///
/// # Errors
/// The file lacks the entry, or cannot be read or written.
pub fn rewrite(path: &Path, database: &str, target: &Dsn) -> Result<Rewritten> {
    let ini = std::fs::read_to_string(path).wrap_err_with(|| format!("cannot read {}", path.display()))?;
    let (index, line) =
        entry(&ini, database).ok_or_else(|| eyre!("{} has no database \"{database}\" any more", path.display()))?;
    let before = line.trim_end().to_owned();
    let after = repointed(&before, target);
    if before == after {
        return Ok(Rewritten::Already { after });
    }
    let text = replace_line(&ini, index, &after);
    let backup = backup_path(path);
    std::fs::copy(path, &backup)
        .wrap_err_with(|| format!("cannot keep a backup of {} as {}", path.display(), backup.display()))?;
    write_atomically(path, &text)?;
    Ok(Rewritten::Changed { before, after, backup })
}

/// A line with its `password=` value masked, for showing.
#[must_use]
pub fn masked(line: &str) -> String {
    let (name, settings) = line.split_once('=').map_or((line, ""), |(n, s)| (n, s));
    let pairs = pairs(settings);
    if !pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case("password")) {
        return line.to_owned();
    }
    let shown: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| {
            let v = if k.eq_ignore_ascii_case("password") { crate::secrets::MASK.to_owned() } else { quoted(&v) };
            format!("{k}={v}")
        })
        .collect();
    format!("{} = {}", name.trim(), shown.join(" "))
}

/// `FILE.cutover-20261203T081500Z.bak`.
#[must_use]
pub fn backup_path(path: &Path) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let mut name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(format!(".cutover-{stamp}.bak"));
    path.with_file_name(name)
}

/// Write `text` to a temporary file beside `path` (same permissions), fsync
/// it, rename it over `path`, fsync the directory: a reader sees the old file
/// or the new one, never half of one, even after a crash.
///
/// # Errors
/// The directory is not writable, or the disk refused.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".cutover-")
        .tempfile_in(dir)
        .wrap_err_with(|| format!("cannot write in {}", dir.display()))?;
    // The pooler (often another user) must still read it: same mode, same
    // owner where we may set it (as root, or the owner already).
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt;
        let _ = tmp.as_file().set_permissions(meta.permissions());
        let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid()));
    }
    tmp.write_all(text.as_bytes()).wrap_err("cannot write the new configuration")?;
    tmp.as_file().sync_all().wrap_err("cannot sync the new configuration")?;
    tmp.persist(path).map_err(|e| eyre!("cannot replace {}: {}", path.display(), e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INI: &str = "\
[databases]
; the application
app = host=10.0.0.5 port=5432 dbname=shop pool_size=20
\"odd name\" = host=10.0.0.5 dbname=x
reports = host=10.0.0.6 dbname=reports user=ro

[pgbouncer]
listen_port = 6432
app = not a database
";

    fn dsn(text: &str) -> Dsn {
        crate::inventory::dsn::parse(text).unwrap()
    }

    #[test]
    fn an_entry_is_found_in_the_databases_section_only() {
        assert_eq!(entry(INI, "app"), Some((2, "app = host=10.0.0.5 port=5432 dbname=shop pool_size=20")));
        assert_eq!(entry(INI, "odd name").map(|e| e.0), Some(3));
        assert_eq!(entry(INI, "listen_port"), None);
        assert_eq!(databases(INI), ["app", "odd name", "reports"]);
    }

    #[test]
    fn a_repointed_entry_keeps_its_other_settings() {
        let target = dsn("host=10.0.0.9 port=6543 dbname=shop_new user=app");
        assert_eq!(
            repointed("app = host=10.0.0.5 port=5432 dbname=shop pool_size=20", &target),
            "app = host=10.0.0.9 port=6543 dbname=shop_new pool_size=20",
            "no user in the entry: none added"
        );
        assert_eq!(
            repointed("reports = host=10.0.0.6 dbname=reports user=ro", &target),
            "reports = host=10.0.0.9 dbname=shop_new user=app port=6543"
        );
        assert_eq!(
            repointed("x = host=a application_name='my app' dbname=d", &target),
            "x = host=10.0.0.9 application_name='my app' dbname=shop_new port=6543"
        );
    }

    #[test]
    fn the_file_is_rewritten_once_with_a_backup_and_back_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgbouncer.ini");
        std::fs::write(&path, INI).unwrap();
        let target = dsn("host=10.0.0.9 port=6543 dbname=shop_new");
        let planned = plan(&path, "app", "target", &target).unwrap();
        assert_eq!(planned.before.as_deref(), Some("app = host=10.0.0.5 port=5432 dbname=shop pool_size=20"));
        let Rewritten::Changed { before, backup, .. } = rewrite(&path, "app", &target).unwrap() else {
            panic!("not rewritten")
        };
        assert_eq!(Some(before), planned.before);
        assert!(backup.starts_with(dir.path()));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            INI.replace("host=10.0.0.5 port=5432 dbname=shop pool", "host=10.0.0.9 port=6543 dbname=shop_new pool")
        );
        let backups: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("pgbouncer.ini.cutover-") && n.ends_with(".bak"))
            .collect();
        assert_eq!(backups.len(), 1, "{backups:?}");
        assert_eq!(std::fs::read_to_string(dir.path().join(&backups[0])).unwrap(), INI);
        assert!(matches!(rewrite(&path, "app", &target).unwrap(), Rewritten::Already { .. }), "nothing to do");
        // And back, from where it is now.
        rewrite(&path, "app", &dsn("host=10.0.0.5 port=5432 dbname=shop")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), INI);
        assert_eq!(masked("a = host=h password='s e' dbname=d"), "a = host=h password=****** dbname=d");
        assert!(rewrite(&path, "nowhere", &target).unwrap_err().to_string().contains("no database \"nowhere\""));
    }

    #[test]
    fn planning_a_database_the_pooler_lacks_names_those_it_has() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgbouncer.ini");
        std::fs::write(&path, INI).unwrap();
        let err = plan(&path, "shop", "target", &dsn("host=h dbname=d")).unwrap_err();
        assert!(err.contains("no database \"shop\"") && err.contains("(it has: app, odd name, reports)"), "{err}");
    }

    #[test]
    fn console_commands_quote_odd_names() {
        assert_eq!(Op::Pause(Some("app".into())).command().unwrap(), "PAUSE app");
        assert_eq!(Op::Resume(Some("odd name".into())).command().unwrap(), "RESUME \"odd name\"");
        assert_eq!(Op::Pause(None).command().unwrap(), "PAUSE");
        assert_eq!(Op::Reload.command().unwrap(), "RELOAD");
    }
}
