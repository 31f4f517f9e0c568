//! The cockpit inside tmux (TERM=tmux-256color / screen), as on a jump host:
//! it draws its panes in the pane tmux gives it and quits cleanly on `q`.

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(name: &str) -> Self {
        let socket = format!("cutover-test-{name}-{}", std::process::id());
        Self { socket }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux (scripts/test installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn capture(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "t"])
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-L").arg(&self.socket).arg("kill-server").output();
    }
}

fn in_tmux(name: &str, term: &str) {
    let tmux = Tmux::new(name);
    let dir = tempfile::tempdir().expect("a temp dir");
    let (status_file, stderr_file) = (dir.path().join("status"), dir.path().join("stderr"));
    // The shell writes cutover's exit code where the test can read it.
    let command = format!(
        "env TERM={term} LANG=C.UTF-8 {} demo --speed 10 2>{}; echo $? >{}",
        env!("CARGO_BIN_EXE_cutover"),
        stderr_file.display(),
        status_file.display()
    );
    tmux.run(&["new-session", "-d", "-s", "t", "-x", "100", "-y", "30", &command]);
    let screen = tmux.wait_for("the four gauge panes", |s| {
        ["Replication lag", "Pool saturation", "Disk headroom", "Checksum"].iter().all(|t| s.contains(t))
    });
    assert!(screen.contains("Runbook") && screen.contains("Events"), "{screen}");
    tmux.run(&["send-keys", "-t", "t", "q"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Ok(status) = std::fs::read_to_string(&status_file) {
            if status.ends_with('\n') {
                break status;
            }
        }
        assert!(Instant::now() < deadline, "cutover did not exit after q:\n{}", tmux.capture());
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&stderr_file).unwrap_or_default();
    assert_eq!(status.trim(), "0", "cutover's exit code after q; stderr:\n{stderr}");
}

#[test]
fn runs_in_tmux_with_256_colours() {
    in_tmux("256", "tmux-256color");
}

#[test]
fn runs_in_tmux_as_plain_screen() {
    in_tmux("screen", "screen");
}
