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
    let command = format!("env TERM={term} LANG=C.UTF-8 {} demo --speed 10", env!("CARGO_BIN_EXE_cutover"));
    tmux.run(&["new-session", "-d", "-s", "t", "-x", "100", "-y", "30", &command]);
    tmux.run(&["set-option", "-t", "t", "remain-on-exit", "on"]);
    let screen = tmux.wait_for("the four gauge panes", |s| {
        ["Replication lag", "Pool saturation", "Disk headroom", "Checksum"].iter().all(|t| s.contains(t))
    });
    assert!(screen.contains("Runbook") && screen.contains("Events"), "{screen}");
    tmux.run(&["send-keys", "-t", "t", "q"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = tmux.run(&["display-message", "-p", "-t", "t", "#{pane_dead} #{pane_dead_status}"]);
        if status.trim() == "1 0" {
            break;
        }
        assert!(Instant::now() < deadline, "cutover did not exit 0 after q: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Back on the normal screen: the cockpit is gone.
    let after = tmux.capture();
    assert!(!after.contains("Pool saturation"), "alternate screen not left:\n{after}");
}

#[test]
fn runs_in_tmux_with_256_colours() {
    in_tmux("256", "tmux-256color");
}

#[test]
fn runs_in_tmux_as_plain_screen() {
    in_tmux("screen", "screen");
}
