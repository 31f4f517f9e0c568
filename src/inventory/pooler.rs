//! Where a PgBouncer endpoint's configuration is, for repoints.

use std::path::PathBuf;

/// How a repoint reaches the pooler's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Where {
    /// The ini file on this machine.
    File(PathBuf),
    /// `sh -c COMMAND` with `CUTOVER_POOLER_DATABASE` and `CUTOVER_POOLER_LINE`
    /// in its environment (the pooler is on another host).
    Command(String),
}
