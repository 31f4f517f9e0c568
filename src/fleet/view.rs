//! What the fleet screen draws: plain data, changed only by the fleet
//! cockpit's loop. The rows are the members' [`MemberRow`]s, worst first.

use chrono::{DateTime, Utc};

use super::row::{MemberPhase, MemberRow, Severity, Totals, sort_worst_first};

/// Which members the screen lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Filter {
    #[default]
    All,
    /// Held, rolled back, blocked or awaiting: the ones that need someone.
    Attention,
    Running,
    Waiting,
    Done,
}

impl Filter {
    /// The next filter (`f` cycles through them).
    #[must_use]
    pub fn next(self) -> Self {
        match self {
            Self::All => Self::Attention,
            Self::Attention => Self::Running,
            Self::Running => Self::Waiting,
            Self::Waiting => Self::Done,
            Self::Done => Self::All,
        }
    }

    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Attention => "attention",
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Done => "done",
        }
    }

    #[must_use]
    pub fn admits(self, row: &MemberRow) -> bool {
        match self {
            Self::All => true,
            Self::Attention => row.severity <= Severity::Awaiting,
            Self::Running => row.phase == MemberPhase::Running,
            Self::Waiting => row.phase == MemberPhase::Waiting,
            Self::Done => row.phase == MemberPhase::Done,
        }
    }
}

/// A typed confirmation the operator is answering on the fleet screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetPrompt {
    /// What it is for, one line: "Run 4.1 Source read-only on wave 2 (3 members)".
    pub question: String,
    /// What must be typed to go on ("wave-2"); `None`: y/n.
    pub expect: Option<String>,
    /// What has been typed so far.
    pub typed: String,
}

/// The fleet screen's state.
#[derive(Clone, Debug, Default)]
pub struct FleetView {
    /// The fleet's name and its runbook's.
    pub title: String,
    pub runbook: String,
    pub now: Option<DateTime<Utc>>,
    pub started: Option<DateTime<Utc>>,
    /// Every member, worst first (see [`FleetView::set_rows`]).
    pub rows: Vec<MemberRow>,
    pub totals: Totals,
    /// The wave going now (from 1), and how many there are.
    pub wave: Option<usize>,
    pub waves: usize,
    /// The fleet stopped starting members, and why (the stop rule, the operator).
    pub stopped: Option<String>,
    pub filter: Filter,
    /// The selected member, by name (it stays selected as the order changes).
    pub selected: Option<String>,
    /// First visible row of the filtered list.
    pub scroll: usize,
    pub prompt: Option<FleetPrompt>,
    /// One line for the operator: what just happened or was refused.
    pub notice: Option<String>,
    /// Help overlay shown.
    pub help: bool,
    /// Set when the screen only observes (`fleet follow`): read-only.
    pub read_only: bool,
}

impl FleetView {
    /// New rows: sorted worst first, the totals counted, the selection kept.
    pub fn set_rows(&mut self, mut rows: Vec<MemberRow>) {
        sort_worst_first(&mut rows);
        self.totals = Totals::of(&rows);
        self.rows = rows;
        if self.selected.is_none() {
            self.selected = self.visible().first().map(|r| r.name.clone());
        }
    }

    /// The rows the filter admits, in order.
    #[must_use]
    pub fn visible(&self) -> Vec<&MemberRow> {
        self.rows.iter().filter(|r| self.filter.admits(r)).collect()
    }

    /// Where the selection is in [`FleetView::visible`].
    #[must_use]
    pub fn selected_index(&self) -> Option<usize> {
        let name = self.selected.as_deref()?;
        self.visible().iter().position(|r| r.name == name)
    }

    /// Move the selection by `delta` rows, keeping it on screen (`height` rows visible).
    pub fn move_selection(&mut self, delta: isize, height: usize) {
        let visible = self.visible();
        if visible.is_empty() {
            self.selected = None;
            return;
        }
        let at = self.selected_index().unwrap_or(0);
        let to = at.saturating_add_signed(delta).min(visible.len() - 1);
        self.selected = Some(visible[to].name.clone());
        self.keep_in_view(to, height);
    }

    /// Scroll so that visible row `index` is on screen.
    pub fn keep_in_view(&mut self, index: usize, height: usize) {
        let height = height.max(1);
        if index < self.scroll {
            self.scroll = index;
        } else if index >= self.scroll + height {
            self.scroll = index + 1 - height;
        }
    }
}
