//! `shell` steps: `sh -c` on this machine, in its own process group, its
//! output streamed line by line, with every endpoint's password in a
//! temporary `.pgpass` rather than on a command line (and the one MySQL
//! endpoint's in `MYSQL_PWD`).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use super::{Executor, Outcome};
use crate::runbook::ActionDef;
use crate::runbook::checker::Checker;
use crate::runbook::file::ShellStep;

/// The checker's part: the command, warned about where it splices a value unquoted.
pub(in crate::runbook) fn check(c: &mut Checker<'_>, shell: &ShellStep) -> Option<ActionDef> {
    Some(ActionDef::Shell { run: c.shell_text(&shell.run) })
}

impl Executor {
    /// `sh -c COMMAND`; the values the command quotes (`"${CUTOVER_Vn}"`) in
    /// its environment, which only its own user can read — the argument
    /// vector, in everyone's process list, carries none of them.
    pub(super) async fn shell(&mut self, command: &str, values: &[(String, String)]) -> Result<Outcome, String> {
        let passfile = self.passfile().map_err(|e| format!("cannot write a password file for the command: {e}"))?;
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c").arg(command).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.process_group(0).kill_on_drop(true).env("PGAPPNAME", "cutover");
        cmd.envs(values.iter().map(|(k, v)| (k, v)));
        if let Some(file) = &passfile {
            cmd.env("PGPASSFILE", file.path());
        }
        // A MySQL client (pgloader, mysqldump) reads its password from
        // MYSQL_PWD: in the child's environment, which only its user can read.
        let mut mysql_passwords = self.inventory.endpoints.iter().filter_map(|e| e.mysql.as_ref()?.password());
        if let (Some(password), None) = (mysql_passwords.next(), mysql_passwords.next()) {
            cmd.env("MYSQL_PWD", password);
        }
        if self.stopper.stopping() {
            return Err("stopped before it started".to_owned());
        }
        let spawned = cmd.spawn();
        // The child has its own copy of a memory file now; ours goes.
        let passfile = passfile.and_then(Passfile::after_spawn);
        let mut child = spawned.map_err(|e| format!("cannot start sh: {e}"))?;
        self.stopper.group(child.id());
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(lines(stdout, tx.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(lines(stderr, tx.clone()));
        }
        drop(tx);
        while let Some(line) = rx.recv().await {
            self.say(line);
        }
        let status = child.wait().await.map_err(|e| format!("the command vanished: {e}"))?;
        drop(passfile);
        Ok(match status.code() {
            Some(0) => Outcome::ok("exit 0"),
            Some(code) => Outcome::failed(format!("exit {code}")),
            None => Outcome::failed("killed by a signal"),
        })
    }

    /// A `.pgpass` with every endpoint's password, mode 0600, so a command
    /// line never carries one. `None` when no endpoint has a password.
    fn passfile(&self) -> std::io::Result<Option<Passfile>> {
        let entries: Vec<String> = self
            .inventory
            .endpoints
            .iter()
            .filter_map(|e| {
                let pw = e.dsn.password()?;
                let esc = |s: &str| s.replace('\\', "\\\\").replace(':', "\\:");
                Some(format!(
                    "{}:{}:{}:{}:{}\n",
                    esc(&e.dsn.host),
                    e.dsn.port,
                    esc(&e.dsn.dbname),
                    esc(&e.dsn.user),
                    esc(pw)
                ))
            })
            .collect();
        if entries.is_empty() {
            return Ok(None);
        }
        Passfile::create(&entries.concat()).map(Some)
    }
}

/// The password file a shell command reads as `PGPASSFILE`.
///
/// On Linux an anonymous memory file (`memfd_create`): it has no name in any
/// directory, so no kill — not even SIGKILL — can leave it behind. It is
/// created without close-on-exec, so the child (and the `psql` it starts)
/// inherits it and opens it as `/dev/fd/N`; cutover closes its own copy once
/// the child has started. Elsewhere a 0600 temporary file, removed after the
/// command.
enum Passfile {
    #[cfg(target_os = "linux")]
    Memory(std::fs::File),
    #[cfg(not(target_os = "linux"))]
    Temp(tempfile::NamedTempFile),
}

impl Passfile {
    fn create(text: &str) -> std::io::Result<Self> {
        #[cfg(target_os = "linux")]
        {
            use nix::sys::memfd::{MFdFlags, memfd_create};
            // No MFD_CLOEXEC: the child must inherit it.
            let fd = memfd_create(c"cutover-pgpass", MFdFlags::empty()).map_err(std::io::Error::from)?;
            let mut file = std::fs::File::from(fd);
            // libpq ignores a password file that group or others may read.
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            file.write_all(text.as_bytes())?;
            file.flush()?;
            Ok(Self::Memory(file))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let mut file = tempfile::Builder::new()
                .prefix("cutover-pgpass-")
                .permissions(std::fs::Permissions::from_mode(0o600))
                .tempfile()?;
            file.write_all(text.as_bytes())?;
            file.flush()?;
            Ok(Self::Temp(file))
        }
    }

    /// What must stay once the child has started: a file on disk until the
    /// command ends; nothing of a memory file (the child holds it).
    fn after_spawn(self) -> Option<Self> {
        match self {
            #[cfg(target_os = "linux")]
            Self::Memory(_) => None,
            #[cfg(not(target_os = "linux"))]
            temp @ Self::Temp(_) => Some(temp),
        }
    }

    /// What `PGPASSFILE` says.
    fn path(&self) -> std::path::PathBuf {
        match self {
            #[cfg(target_os = "linux")]
            Self::Memory(file) => {
                use std::os::fd::AsRawFd;
                format!("/dev/fd/{}", file.as_raw_fd()).into()
            }
            #[cfg(not(target_os = "linux"))]
            Self::Temp(file) => file.path().to_owned(),
        }
    }
}

async fn lines(reader: impl tokio::io::AsyncRead + Unpin, tx: mpsc::UnboundedSender<String>) {
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if tx.send(line).is_err() {
            break;
        }
    }
}
