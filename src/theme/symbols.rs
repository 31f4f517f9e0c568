//! The characters the screen draws with: Unicode by default, plain ASCII for
//! terminals (or fonts) without it.

use ratatui::symbols::border;

use crate::events::StepStatus;
use crate::state::Level;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbols {
    pub ascii: bool,
    pub border: border::Set<'static>,
    /// Sparkline levels, empty to full.
    pub bars: [&'static str; 9],
    pub gauge_full: &'static str,
    pub gauge_empty: &'static str,
    pub ok: &'static str,
    pub warn: &'static str,
    pub critical: &'static str,
    pub unreachable: &'static str,
    pub step_done: &'static str,
    pub step_running: &'static str,
    pub step_pending: &'static str,
    pub step_failed: &'static str,
    pub step_skipped: &'static str,
    pub step_interrupted: &'static str,
    pub destructive: &'static str,
    pub separator: &'static str,
}

pub const UNICODE: Symbols = Symbols {
    ascii: false,
    border: border::PLAIN,
    bars: [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
    gauge_full: "█",
    gauge_empty: "░",
    ok: "✔",
    warn: "⚠",
    critical: "✖",
    unreachable: "✖",
    step_done: "✔",
    step_running: "▶",
    step_pending: "·",
    step_failed: "✖",
    step_skipped: "–",
    step_interrupted: "!",
    destructive: "⚠",
    separator: "·",
};

pub const ASCII: Symbols = Symbols {
    ascii: true,
    border: border::Set {
        top_left: "+",
        top_right: "+",
        bottom_left: "+",
        bottom_right: "+",
        vertical_left: "|",
        vertical_right: "|",
        horizontal_top: "-",
        horizontal_bottom: "-",
    },
    bars: [" ", "_", ".", "-", "~", "=", "+", "*", "#"],
    gauge_full: "#",
    gauge_empty: ".",
    ok: "+",
    warn: "!",
    critical: "X",
    unreachable: "X",
    step_done: "+",
    step_running: ">",
    step_pending: ".",
    step_failed: "X",
    step_skipped: "-",
    step_interrupted: "!",
    destructive: "!",
    separator: "-",
};

impl Symbols {
    #[must_use]
    pub fn level(&self, level: Level) -> &'static str {
        match level {
            Level::Ok => self.ok,
            Level::Warn => self.warn,
            Level::Critical => self.critical,
        }
    }

    #[must_use]
    pub fn step(&self, status: StepStatus) -> &'static str {
        match status {
            StepStatus::Pending => self.step_pending,
            StepStatus::Running => self.step_running,
            StepStatus::Done => self.step_done,
            StepStatus::Failed => self.step_failed,
            StepStatus::Skipped => self.step_skipped,
            StepStatus::Interrupted => self.step_interrupted,
        }
    }
}

/// A plain-ASCII stand-in for a character some widget drew (chart markers,
/// axis lines), so that `--ascii` output is ASCII whatever drew it.
#[must_use]
pub fn ascii_fallback(symbol: &str) -> &'static str {
    let Some(c) = symbol.chars().next() else {
        return " ";
    };
    match c {
        '─' | '━' | '═' | '╌' => "-",
        '│' | '┃' | '║' | '╎' => "|",
        '┌' | '┐' | '└' | '┘' | '├' | '┤' | '┬' | '┴' | '┼' | '╭' | '╮' | '╰' | '╯' => "+",
        '█' | '▉' | '▊' | '▋' | '▌' | '▍' | '▎' | '▏' | '▐' | '▀' | '▄' | '▆' | '▇' | '▅' | '▃' => {
            "#"
        }
        '▁' | '▂' => "_",
        '░' | '▒' | '▓' => ".",
        '•' | '●' | '⠀'..='⣿' => "*",
        '·' => ".",
        '…' => "~",
        _ => "?",
    }
}
