//! An endpoint's backup repository, as the inventory gives it:
//!
//! ```toml
//! [endpoints.source]
//! kind   = "postgres"
//! dsn    = "host=db1 user=cutover dbname=app"
//! backup = { command = "pgbackrest --stanza=main info --output=json", stanza = "main", every = "60s" }
//! ```
//!
//! The command prints `pgbackrest info --output=json` (run through `sh -c`,
//! on the machine cutover runs on: ssh to the repository host if it is
//! elsewhere). `stanza` picks one when it lists several.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::quantity::{self, Unit};

/// How often the repository is read unless `every` says otherwise: `info`
/// lists the repository, which on object storage is not free.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupFile {
    pub command: Spanned<String>,
    pub stanza: Option<String>,
    pub every: Option<Spanned<String>>,
}

/// Where an endpoint's backups are read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSource {
    pub command: String,
    pub stanza: Option<String>,
    pub every: Duration,
}

impl BackupSource {
    /// From the inventory's table: an error is its byte offset and message.
    pub(super) fn from_file(endpoint: &str, f: &BackupFile) -> Result<Self, (usize, String)> {
        if f.command.get_ref().trim().is_empty() {
            return Err((f.command.span().start, format!("endpoint \"{endpoint}\": backup.command is empty")));
        }
        let every = match &f.every {
            None => DEFAULT_EVERY,
            Some(text) => match quantity::parse(text.get_ref(), Unit::Seconds) {
                Ok(secs) if (1.0..=86_400.0).contains(&secs) => Duration::from_secs_f64(secs),
                Ok(_) => return Err((text.span().start, "backup.every must be between 1s and 24h".to_owned())),
                Err(message) => return Err((text.span().start, format!("backup.every: {message}"))),
            },
        };
        Ok(Self { command: f.command.get_ref().clone(), stanza: f.stanza.clone(), every })
    }
}
