//! The real binary in a tmux pane, as on a jump host: start a command at a
//! size, read the screen, send keys, and learn its exit code (written by the
//! shell around it, which is more dependable than tmux's pane status).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
    dir: tempfile::TempDir,
}

impl Tmux {
    /// Run `command` (a shell command line) in a new detached session of
    /// `cols`x`rows` on a private tmux server.
    pub fn start(name: &str, cols: u16, rows: u16, command: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let tmux = Self { socket: format!("cutover-{name}-{}", std::process::id()), dir };
        let wrapped =
            format!("{command} 2>{}; echo $? >{}", tmux.stderr_file().display(), tmux.status_file().display());
        tmux.run(&["new-session", "-d", "-s", "t", "-x", &cols.to_string(), "-y", &rows.to_string(), &wrapped]);
        tmux
    }

    fn status_file(&self) -> PathBuf {
        self.dir.path().join("status")
    }

    fn stderr_file(&self) -> PathBuf {
        self.dir.path().join("stderr")
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux (scripts/test installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "t"])
    }

    pub fn send(&self, keys: &str) {
        self.run(&["send-keys", "-t", "t", keys]);
    }

    /// The pid of the program in the pane (the shell around it execs nothing,
    /// so this is the shell's child).
    pub fn program_pid(&self) -> Option<u32> {
        let shell = self.run(&["display-message", "-p", "-t", "t", "#{pane_pid}"]);
        let out = Command::new("pgrep").args(["-P", shell.trim()]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).lines().next()?.trim().parse().ok()
    }

    pub fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The program's exit code once it has ended (panics after 20 s).
    pub fn wait_exit(&self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(status) = std::fs::read_to_string(self.status_file()) {
                if status.ends_with('\n') {
                    return status.trim().parse().unwrap_or(-1);
                }
            }
            assert!(Instant::now() < deadline, "the program did not exit:\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr_file()).unwrap_or_default()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).output();
    }
}
