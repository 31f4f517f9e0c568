//! The fleet cockpit, the real binary in tmux: `demo --fleet` at 120x40 puts
//! the misbehaving shard first once it fails, Enter opens its own cockpit and
//! Esc comes back; at 80x24 with `--interactive` the wave is confirmed from
//! the fleet screen, and a destructive step wants the wave's name typed.

mod support;

use std::time::{Duration, Instant};

use support::tmux::Tmux;

fn demo(name: &str, cols: u16, rows: u16, args: &str) -> Tmux {
    let command = format!("env TERM=tmux-256color LANG=C.UTF-8 {} demo {args}", env!("CARGO_BIN_EXE_cutover"));
    Tmux::start(name, cols, rows, &command)
}

/// The first member row (below the title, the counts and the heading).
fn first_row(screen: &str) -> &str {
    screen.lines().nth(3).unwrap_or_default()
}

#[test]
fn the_failed_shard_comes_first_and_opens_into_its_cockpit() {
    let tmux = demo("fleet-120", 120, 40, "--fleet 8 --speed 30");
    let screen = tmux.wait_for("the fleet screen", |s| s.contains("MEMBER") && s.contains("of 8"));
    assert!(screen.contains("demo fleet (8 shards)"), "{screen}");
    let screen =
        tmux.wait_for("shard-08 held, first", |s| s.contains("failed 1") && first_row(s).starts_with("shard-08"));
    assert!(first_row(&screen).contains("held"), "{screen}");
    // Later waves waited for the canary: it is done first.
    assert!(screen.lines().any(|l| l.starts_with("shard-01") && l.contains("done")), "{screen}");
    tmux.send("g");
    tmux.send("Enter");
    let cockpit = tmux.wait_for("shard-08's cockpit", |s| s.contains("Replication lag") && s.contains("Runbook"));
    assert!(!cockpit.contains("MEMBER"), "{cockpit}");
    tmux.send("Escape");
    tmux.wait_for("the fleet screen again", |s| s.contains("MEMBER") && first_row(s).starts_with("shard-08"));
    tmux.send("q");
    tmux.wait_for("the leave prompt", |s| s.contains("Leave?"));
    tmux.send("y");
    assert_eq!(tmux.wait_exit(), 0, "stderr:\n{}", tmux.stderr());
}

#[test]
fn a_wave_is_confirmed_from_the_fleet_screen_and_a_destructive_step_is_typed() {
    let tmux = demo("fleet-80", 80, 24, "--fleet 4 --interactive --speed 30");
    let screen = tmux.wait_for("the canary waiting for a confirmation", |s| s.contains("confirm?"));
    assert!(first_row(&screen).starts_with("shard-01"), "{screen}");
    tmux.send("g");
    // Confirm the canary's steps from the fleet screen until one is destructive.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut confirmed = 0;
    loop {
        let screen = tmux.screen();
        if screen.contains("type wave-1") {
            break;
        }
        assert!(Instant::now() < deadline, "no destructive step after {confirmed} confirmations:\n{screen}");
        if screen.contains("y/n: Run ") {
            tmux.send("y");
            tmux.wait_for("the confirmation", |s| s.contains("confirmed for 1 member(s)"));
            confirmed += 1;
        } else if first_row(&screen).contains("confirm?") && !screen.contains("not waiting") {
            // The row may be a frame behind the run: then the fleet says
            // it is not waiting (yet), and the next round asks again.
            tmux.send("C");
            tmux.wait_for("a prompt or a refusal", |s| {
                s.contains("y/n: Run ") || s.contains("type wave-1") || s.contains("not waiting")
            });
            if tmux.screen().contains("not waiting") {
                tmux.send("Escape");
                std::thread::sleep(Duration::from_millis(300));
            }
        } else {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    assert!(confirmed >= 5, "the steps before the switch: {confirmed}");
    // A wrong word does nothing.
    for key in ["w", "a", "v", "e", "-", "9", "Enter"] {
        tmux.send(key);
    }
    let screen = tmux.wait_for("the refusal", |s| s.contains("not what was asked"));
    assert!(first_row(&screen).contains("confirm?"), "still waiting:\n{screen}");
    tmux.send("C");
    tmux.wait_for("the typed prompt again", |s| s.contains("type wave-1"));
    for key in ["w", "a", "v", "e", "-", "1", "Enter"] {
        tmux.send(key);
    }
    tmux.wait_for("the destructive step confirmed", |s| s.contains("4.1 confirmed for 1 member(s)"));
    tmux.send("q");
    tmux.wait_for("the leave prompt", |s| s.contains("Leave?"));
    tmux.send("y");
    assert_eq!(tmux.wait_exit(), 0, "stderr:\n{}", tmux.stderr());
}
