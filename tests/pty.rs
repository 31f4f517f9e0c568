//! End-to-end tests: the real `cutover` binary in a real pseudo-terminal.
//!
//! Each test spawns the binary under a PTY (portable-pty), reads everything it
//! writes on a background thread into a shared buffer, and feeds the same
//! bytes to a vt100 parser so the screen can be read as text. Waiting is done
//! by polling with a generous deadline (the machine may be busy compiling);
//! no sleep is ever used as an assertion.

// The harness's helpers are outside `#[test]` functions, where clippy.toml's
// allow-expect-in-tests does not reach; a failed expect is a failed test here.
#![allow(clippy::expect_used)]

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

/// How long any one wait may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(20);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(20);

const ENTER_ALT_SCREEN: &[u8] = b"\x1b[?1049h";
const LEAVE_ALT_SCREEN: &[u8] = b"\x1b[?1049l";
const SHOW_CURSOR: &[u8] = b"\x1b[?25h";
const BEGIN_SYNC: &[u8] = b"\x1b[?2026h";
const END_SYNC: &[u8] = b"\x1b[?2026l";

const PANE_TITLES: [&str; 6] = ["Replication lag", "Pool saturation", "Disk headroom", "Checksum", "Runbook", "Events"];
const PANIC_MESSAGE: &str = "panic requested by CUTOVER_TEST_PANIC";

/// Environment variables kept from the test's own environment; everything
/// else is cleared so the host's locale, colour and theme settings
/// (`LC_ALL`, `NO_COLOR`, `COLORTERM`, `CUTOVER_THEME`, ...) cannot leak in.
const KEPT_ENV: [&str; 3] = ["PATH", "HOME", "LLVM_PROFILE_FILE"];

/// What the reader thread has seen so far.
struct Output {
    raw: Vec<u8>,
    parser: vt100::Parser,
}

/// The binary running in a pseudo-terminal.
struct Pty {
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    output: Arc<Mutex<Output>>,
    reader: JoinHandle<()>,
    exit: Option<ExitStatus>,
}

/// How to start the binary.
struct Spawn<'a> {
    args: &'a [&'a str],
    env: &'a [(&'a str, &'a str)],
    cols: u16,
    rows: u16,
}

impl Default for Spawn<'_> {
    fn default() -> Self {
        Self {
            args: &["demo", "--speed", "20"],
            env: &[("TERM", "xterm-256color"), ("LANG", "C.UTF-8")],
            cols: 120,
            rows: 40,
        }
    }
}

fn size(cols: u16, rows: u16) -> PtySize {
    PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }
}

fn nonzero(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).expect("a terminal size is never zero")
}

impl Pty {
    fn spawn(spec: &Spawn<'_>) -> Self {
        let pair = native_pty_system().openpty(size(spec.cols, spec.rows)).expect("open a pty");

        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_cutover"));
        cmd.args(spec.args);
        cmd.cwd(env!("CARGO_MANIFEST_DIR"));
        cmd.env_clear();
        for key in KEPT_ENV {
            if let Some(value) = std::env::var_os(key) {
                cmd.env(key, value);
            }
        }
        for (key, value) in spec.env {
            cmd.env(key, value);
        }

        let child = pair.slave.spawn_command(cmd).expect("spawn cutover in the pty");
        // Only the child may hold the slave side, so the reader sees EOF/EIO
        // once the child is gone.
        drop(pair.slave);

        let mut reader = pair.master.try_clone_reader().expect("clone the pty reader");
        let writer = pair.master.take_writer().expect("take the pty writer");
        let output = Arc::new(Mutex::new(Output {
            raw: Vec::new(),
            parser: vt100::Parser::new(nonzero(spec.rows), nonzero(spec.cols), 0),
        }));
        let sink = Arc::clone(&output);
        let reader = std::thread::spawn(move || {
            let mut buf = [0_u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let mut out = sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        out.raw.extend_from_slice(&buf[..n]);
                        out.parser.process(&buf[..n]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    // EIO on Linux once the slave side is closed.
                    Err(_) => break,
                }
            }
        });

        Self { master: pair.master, writer, child, output, reader, exit: None }
    }

    fn output(&self) -> MutexGuard<'_, Output> {
        self.output.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Everything written so far.
    fn raw(&self) -> Vec<u8> {
        self.output().raw.clone()
    }

    /// The visible screen as text.
    fn screen_text(&self) -> String {
        self.output().parser.screen().contents()
    }

    /// The screen and the tail of the raw stream, for failure messages.
    fn dump(&self) -> String {
        let out = self.output();
        let tail = &out.raw[out.raw.len().saturating_sub(600)..];
        format!(
            "--- screen ---\n{}\n--- last {} of {} bytes ---\n{}\n--- exit: {:?}",
            out.parser.screen().contents(),
            tail.len(),
            out.raw.len(),
            tail.escape_ascii(),
            self.exit,
        )
    }

    /// Has the child exited? Remembers the status.
    fn poll_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().expect("ask whether the child exited");
        }
        self.exit.clone()
    }

    /// Poll until `ready` holds for the screen text, or fail after the deadline
    /// (or as soon as the child exits without it holding).
    fn wait_for(&mut self, what: &str, ready: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            if ready(&self.screen_text()) {
                return;
            }
            if self.poll_exit().is_some() && self.reader.is_finished() {
                assert!(ready(&self.screen_text()), "the child exited before {what}\n{}", self.dump());
                return;
            }
            assert!(start.elapsed() < DEADLINE, "timed out after {DEADLINE:?} waiting for {what}\n{}", self.dump());
            std::thread::sleep(POLL);
        }
    }

    /// Poll until the raw stream satisfies `ready`.
    fn wait_for_raw(&mut self, what: &str, ready: impl Fn(&[u8]) -> bool) {
        let start = Instant::now();
        loop {
            if ready(&self.output().raw) {
                return;
            }
            assert!(self.poll_exit().is_none(), "the child exited before {what}\n{}", self.dump());
            assert!(start.elapsed() < DEADLINE, "timed out after {DEADLINE:?} waiting for {what}\n{}", self.dump());
            std::thread::sleep(POLL);
        }
    }

    /// Wait until every pane title is on screen.
    fn wait_for_cockpit(&mut self) {
        self.wait_for("the cockpit's panes", |text| PANE_TITLES.iter().all(|title| text.contains(title)));
    }

    /// Wait until at least `n` whole frames (synchronized updates) were written.
    fn wait_for_frames(&mut self, n: usize) {
        self.wait_for_raw(&format!("{n} frames"), |raw| count(raw, END_SYNC) >= n);
    }

    /// Type bytes at the terminal.
    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to the pty");
        self.writer.flush().expect("flush the pty");
    }

    /// Resize the terminal and the screen model alike.
    fn resize(&mut self, cols: u16, rows: u16) {
        self.output().parser.set_size(nonzero(rows), nonzero(cols));
        self.master.resize(size(cols, rows)).expect("resize the pty");
    }

    /// Wait for the child to exit and for its last output to be read; the
    /// exit code.
    fn wait_exit(&mut self) -> u32 {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.poll_exit() {
                break status;
            }
            assert!(start.elapsed() < DEADLINE, "timed out after {DEADLINE:?} waiting for exit\n{}", self.dump());
            std::thread::sleep(POLL);
        };
        let start = Instant::now();
        while !self.reader.is_finished() {
            assert!(start.elapsed() < DEADLINE, "the pty was not closed after the child exited\n{}", self.dump());
            std::thread::sleep(POLL);
        }
        status.exit_code()
    }

    /// The terminal's local mode flags (ICANON, ECHO, ...) by name, as the
    /// child last left them. The master side reports the slave's termios.
    #[cfg(unix)]
    fn local_flags(&self) -> Vec<String> {
        let termios = self.master.get_termios().expect("read the pty's termios");
        // `LocalFlags(ECHOKE | ECHOE | ECHOK | ECHO | ISIG | ICANON | ...)`:
        // read the names from Debug, so no direct dependency on nix is needed.
        format!("{:?}", termios.local_flags)
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .filter(|word| !word.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if self.poll_exit().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Where `needle` first occurs in `haystack` at or after `from`.
fn find_from(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

fn has_flag(flags: &[String], name: &str) -> bool {
    flags.iter().any(|f| f == name)
}

/// Every SGR (`ESC [ ... m`) sequence in the stream that sets a foreground or
/// background colour: 30–37, 90–97, 40–47, 100–107, or the extended 38/48
/// forms (`38;5;N`, `38;2;R;G;B`, and their `:` variants). 39 and 49 (back to
/// the terminal's default colour) are not colours and are allowed.
fn colour_sgrs(raw: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(start) = find_from(raw, b"\x1b[", i) {
        let body_start = start + 2;
        let end = raw[body_start..].iter().position(|b| !(b.is_ascii_digit() || *b == b';' || *b == b':'));
        let Some(end) = end.map(|e| e + body_start) else { break };
        if raw[end] == b'm' {
            let params = &raw[body_start..end];
            let colour = params.split(|b| *b == b';').any(|p| {
                let first = p.split(|b| *b == b':').next().unwrap_or_default();
                let n: u32 = std::str::from_utf8(first).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
                matches!(n, 30..=38 | 40..=48 | 90..=97 | 100..=107)
            });
            if colour {
                found.push(raw[start..=end].escape_ascii().to_string());
            }
        }
        i = end;
    }
    found
}

#[test]
fn the_colour_scanner_knows_colour_from_reset() {
    let plain = b"\x1b[0m\x1b[1m\x1b[7mtext\x1b[39m\x1b[49m\x1b[22m\x1b[?2026h\x1b[10;3H";
    assert!(colour_sgrs(plain).is_empty(), "{:?}", colour_sgrs(plain));
    for colour in [
        &b"\x1b[31m"[..],
        b"\x1b[1;32m",
        b"\x1b[97m",
        b"\x1b[44m",
        b"\x1b[107m",
        b"\x1b[38;5;196m",
        b"\x1b[48;2;1;2;3m",
        b"\x1b[38:5:196m",
    ] {
        assert_eq!(colour_sgrs(colour).len(), 1, "{}", colour.escape_ascii());
    }
}

#[test]
fn demo_shows_the_four_gauge_panes_and_quits_cleanly() {
    let mut pty = Pty::spawn(&Spawn::default());
    pty.wait_for_cockpit();

    #[cfg(unix)]
    {
        // While the cockpit runs the terminal is raw: no line editing, no echo.
        // (Also shows the termios check below can tell the difference.)
        let flags = pty.local_flags();
        assert!(!has_flag(&flags, "ICANON") && !has_flag(&flags, "ECHO"), "not raw while running: {flags:?}");
    }

    pty.send(b"q");
    let code = pty.wait_exit();
    assert_eq!(code, 0, "exit code\n{}", pty.dump());

    let raw = pty.raw();
    let enter = find_from(&raw, ENTER_ALT_SCREEN, 0).expect("the alternate screen is entered");
    let leave = find_from(&raw, LEAVE_ALT_SCREEN, enter).expect("the alternate screen is left after entering it");
    assert!(
        find_from(&raw, ENTER_ALT_SCREEN, leave).is_none(),
        "the alternate screen is entered again after leaving it\n{}",
        pty.dump()
    );
    assert!(find_from(&raw, SHOW_CURSOR, leave).is_some(), "the cursor is shown after leaving\n{}", pty.dump());
    assert!(!pty.output().parser.screen().alternate_screen(), "still on the alternate screen\n{}", pty.dump());
    assert!(!pty.output().parser.screen().hide_cursor(), "the cursor is still hidden\n{}", pty.dump());

    #[cfg(unix)]
    {
        let flags = pty.local_flags();
        assert!(has_flag(&flags, "ICANON"), "canonical mode not restored: {flags:?}");
        assert!(has_flag(&flags, "ECHO"), "echo not restored: {flags:?}");
    }
}

#[test]
fn panic_restores_the_terminal() {
    let mut pty = Pty::spawn(&Spawn {
        env: &[("TERM", "xterm-256color"), ("LANG", "C.UTF-8"), ("CUTOVER_TEST_PANIC", "first-frame")],
        ..Spawn::default()
    });
    let code = pty.wait_exit();
    assert_eq!(code, 101, "a panic exits with 101\n{}", pty.dump());

    let raw = pty.raw();
    let enter = find_from(&raw, ENTER_ALT_SCREEN, 0).expect("the alternate screen is entered");
    let end_of_frame = find_from(&raw, END_SYNC, enter).expect("a first frame is drawn before the panic");
    let leave = find_from(&raw, LEAVE_ALT_SCREEN, end_of_frame).expect("the alternate screen is left after the frame");
    let message = find_from(&raw, PANIC_MESSAGE.as_bytes(), 0).expect("the panic message is printed");
    assert!(message > leave, "the panic message is printed before leaving the alternate screen\n{}", pty.dump());
    let show = find_from(&raw, SHOW_CURSOR, leave).expect("the cursor is shown after leaving");
    assert!(show < message, "the cursor is shown only after the panic message\n{}", pty.dump());
    assert!(
        find_from(&raw, ENTER_ALT_SCREEN, leave).is_none(),
        "the alternate screen is entered again\n{}",
        pty.dump()
    );

    // The report is what is left on the (normal) screen.
    {
        let out = pty.output();
        let screen = out.parser.screen();
        assert!(!screen.alternate_screen(), "still on the alternate screen\n{}", screen.contents());
        assert!(screen.contents().contains(PANIC_MESSAGE), "the report is not on screen\n{}", screen.contents());
    }

    #[cfg(unix)]
    {
        let flags = pty.local_flags();
        assert!(has_flag(&flags, "ICANON") && has_flag(&flags, "ECHO"), "terminal left raw: {flags:?}");
    }
}

#[test]
fn no_color_writes_no_colour_codes() {
    // Control: without NO_COLOR the same run does write colours, so the scan
    // below can see them.
    let mut coloured = Pty::spawn(&Spawn::default());
    coloured.wait_for_cockpit();
    coloured.wait_for_frames(3);
    coloured.send(b"q");
    assert_eq!(coloured.wait_exit(), 0, "exit code\n{}", coloured.dump());
    assert!(!colour_sgrs(&coloured.raw()).is_empty(), "the control run wrote no colour\n{}", coloured.dump());

    let mut pty = Pty::spawn(&Spawn {
        env: &[("TERM", "xterm-256color"), ("LANG", "C.UTF-8"), ("NO_COLOR", "1")],
        ..Spawn::default()
    });
    pty.wait_for_cockpit();
    pty.wait_for_frames(3);
    pty.send(b"q");
    assert_eq!(pty.wait_exit(), 0, "exit code\n{}", pty.dump());
    let colours = colour_sgrs(&pty.raw());
    assert!(colours.is_empty(), "colour codes with NO_COLOR=1: {colours:?}");
}

#[test]
fn the_default_theme_writes_short_16_colour_codes() {
    // TERM=xterm has 8/16 colours: the default theme must use the classic
    // 30–37 / 90–97 codes, never the 256-palette form for them.
    let mut pty = Pty::spawn(&Spawn { env: &[("TERM", "xterm"), ("LANG", "C.UTF-8")], ..Spawn::default() });
    pty.wait_for_cockpit();
    pty.wait_for_frames(3);
    pty.send(b"q");
    assert_eq!(pty.wait_exit(), 0, "exit code\n{}", pty.dump());
    let colours = colour_sgrs(&pty.raw());
    assert!(!colours.is_empty(), "the default theme draws in colour");
    let long: Vec<&String> = colours.iter().filter(|c| c.contains("38;5;") || c.contains("48;5;")).collect();
    assert!(long.is_empty(), "256-palette codes for the 16 ANSI colours: {long:?}");
}

#[test]
fn ascii_mode_draws_only_ascii() {
    let runs: [(&str, Spawn<'_>); 2] = [
        ("LANG=C", Spawn { env: &[("TERM", "xterm"), ("LANG", "C")], ..Spawn::default() }),
        ("--ascii with LANG=C.UTF-8", Spawn { args: &["--ascii", "demo", "--speed", "20"], ..Spawn::default() }),
    ];
    for (name, spec) in &runs {
        let mut pty = Pty::spawn(spec);
        pty.wait_for_cockpit();
        pty.wait_for_frames(3);
        let text = pty.screen_text();
        let odd: String = text.chars().filter(|c| !c.is_ascii()).collect();
        assert!(odd.is_empty(), "{name}: non-ASCII on screen: {odd:?}\n{text}");
        pty.send(b"q");
        assert_eq!(pty.wait_exit(), 0, "{name}: exit code\n{}", pty.dump());
        let raw = pty.raw();
        assert!(raw.is_ascii(), "{name}: non-ASCII bytes written\n{}", pty.dump());
    }

    // Control: with a UTF-8 locale and no flag the cockpit does draw Unicode.
    let mut pty = Pty::spawn(&Spawn::default());
    pty.wait_for_cockpit();
    assert!(!pty.screen_text().is_ascii(), "the Unicode run drew only ASCII\n{}", pty.dump());
}

#[test]
fn too_small_terminal_says_so() {
    // Slow enough that no data arrives during the test (one sample every 600 s
    // of wall time): only the resize itself can bring the cockpit back.
    let mut pty = Pty::spawn(&Spawn {
        args: &["demo", "--speed", "0.1", "--interval-ms", "60000"],
        cols: 50,
        rows: 12,
        ..Spawn::default()
    });
    pty.wait_for("the too-small notice", |text| text.contains("Terminal too small"));

    pty.resize(120, 40);
    pty.wait_for_cockpit();
    assert!(!pty.screen_text().contains("Terminal too small"), "the notice stayed\n{}", pty.dump());

    pty.send(b"q");
    assert_eq!(pty.wait_exit(), 0, "exit code\n{}", pty.dump());
}

#[test]
fn synchronized_output_wraps_frames() {
    let mut pty = Pty::spawn(&Spawn::default());
    pty.wait_for_cockpit();
    pty.wait_for_frames(3);
    pty.send(b"q");
    assert_eq!(pty.wait_exit(), 0, "exit code\n{}", pty.dump());

    let raw = pty.raw();
    let enter = find_from(&raw, ENTER_ALT_SCREEN, 0).expect("the alternate screen is entered");
    let first = find_from(&raw, BEGIN_SYNC, enter).expect("a synchronized update begins after entering");
    let first_end = find_from(&raw, END_SYNC, first).expect("the first synchronized update ends");
    let frame = &raw[first..first_end];
    assert!(
        find_from(frame, b"Replication lag", 0).is_some(),
        "the first frame is not drawn inside the synchronized update: {}",
        frame.escape_ascii()
    );

    // Begins and ends alternate: every begin is closed before the next one.
    let mut open = false;
    let mut begins = 0;
    let mut i = 0;
    while let Some(at) = raw[i..].windows(8).position(|w| w == BEGIN_SYNC || w == END_SYNC).map(|p| p + i) {
        if &raw[at..at + 8] == BEGIN_SYNC {
            assert!(!open, "a synchronized update begins inside another at byte {at}");
            open = true;
            begins += 1;
        } else {
            open = false;
        }
        i = at + 8;
    }
    assert!(!open, "the last synchronized update is never ended");
    assert!(begins >= 3, "only {begins} synchronized updates");
}
