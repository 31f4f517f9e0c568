//! A real pgBackRest repository for a [`Cluster`], in a scratch directory:
//! [`Repo::new`] writes `pgbackrest.conf` (repository, logs and locks all in
//! the directory), [`Repo::archive_command`] is what the cluster's
//! `archive_command` runs, [`Repo::attach`] names the cluster in the stanza
//! and creates it, [`Repo::backup`] takes a backup. Every pgBackRest command
//! runs as the server user (as the archiver does), so the repository's files
//! stay the server's.
//!
//! ```text
//! <tmp>/cutover-pgbackrest-XXXXXX/
//!     pgbackrest.conf   [global] repo1-path, log-path, lock-path, start-fast, no compression
//!                       [main]   pg1-path, pg1-port, pg1-socket-path (after attach)
//!     repo/  log/  lock/
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use super::pg::Cluster;
use super::{ScratchDir, find_on_path, run, scratch_dir, server_command, write_server_file};

pub const STANZA: &str = "main";

const INSTALL_HINT: &str = "pgbackrest not found: the backup tests need pgBackRest (Debian/Ubuntu: `apt-get install \
     pgbackrest`; scripts/test installs it when run as root).";

pub struct Repo {
    pub conf: PathBuf,
    dir: ScratchDir,
    binary: PathBuf,
}

impl Repo {
    pub fn new() -> Repo {
        let binary = find_on_path("pgbackrest", &["/usr/bin"]).unwrap_or_else(|| panic!("{INSTALL_HINT}"));
        let dir = scratch_dir("cutover-pgbackrest-");
        let conf = dir.path().join("pgbackrest.conf");
        let repo = Repo { conf, dir, binary };
        write_server_file(&repo.conf, &repo.global());
        repo
    }

    fn global(&self) -> String {
        let d = self.dir.path().display();
        format!(
            "# Written by the cutover test harness (tests/support/pgbackrest.rs).\n[global]\nrepo1-path={d}/repo\n\
             log-path={d}/log\nlock-path={d}/lock\nlog-level-console=warn\nlog-level-file=off\nstart-fast=y\n\
             compress-type=none\nrepo1-retention-full=4\n"
        )
    }

    /// `pgbackrest … archive-push %p`, for the cluster's `archive_command`.
    pub fn archive_command(&self) -> String {
        format!("{} --config={} --stanza={STANZA} archive-push %p", self.binary.display(), self.conf.display())
    }

    /// Name `cluster` as the stanza's database and create the stanza.
    pub fn attach(&self, cluster: &Cluster) {
        let text = format!(
            "{}[{STANZA}]\npg1-path={}\npg1-port={}\npg1-socket-path={}\npg1-user=postgres\n",
            self.global(),
            cluster.data_dir.display(),
            cluster.port,
            cluster.socket_dir.display()
        );
        write_server_file(&self.conf, &text);
        run(&mut self.command(&["stanza-create"]));
    }

    /// `pgbackrest backup --type=KIND` (full, diff, incr).
    pub fn backup(&self, kind: &str) {
        run(&mut self.command(&["backup", &format!("--type={kind}")]));
    }

    /// The command an inventory's `backup.command` gives: `info --output=json`, as the server user.
    pub fn info_command(&self) -> String {
        let info =
            format!("{} --config={} --stanza={STANZA} info --output=json", self.binary.display(), self.conf.display());
        if super::is_root() { format!("runuser -u postgres -- {info}") } else { info }
    }

    /// `pgbackrest --config=… --stanza=main ARGS`, as the server user.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = server_command(&self.binary, self.dir.path());
        cmd.arg(format!("--config={}", self.conf.display())).arg(format!("--stanza={STANZA}")).args(args);
        cmd
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
