//! The cockpit inside tmux (TERM=tmux-256color / screen), as on a jump host:
//! it draws its panes in the pane tmux gives it and quits cleanly on `q`.

mod support;

use support::tmux::Tmux;

fn in_tmux(name: &str, term: &str) {
    let command = format!("env TERM={term} LANG=C.UTF-8 {} demo --speed 10", env!("CARGO_BIN_EXE_cutover"));
    let tmux = Tmux::start(&format!("demo-{name}"), 100, 30, &command);
    let screen = tmux.wait_for("the four gauge panes", |s| {
        ["Replication lag", "Pool saturation", "Disk headroom", "Checksum"].iter().all(|t| s.contains(t))
    });
    assert!(screen.contains("Runbook") && screen.contains("Events"), "{screen}");
    tmux.send("q");
    assert_eq!(tmux.wait_exit(), 0, "cutover's exit code after q; stderr:\n{}", tmux.stderr());
}

#[test]
fn runs_in_tmux_with_256_colours() {
    in_tmux("256", "tmux-256color");
}

#[test]
fn runs_in_tmux_as_plain_screen() {
    in_tmux("screen", "screen");
}
