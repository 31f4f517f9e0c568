//! The fleet screen: one row per member, worst first, a header with the
//! fleet's counts, a footer with the keys. A pure function of the
//! [`FleetView`]; only the visible rows are formatted (256 members cost what
//! the 40 on screen cost).
//!
//! ```text
//! orders shards · pg-logical-migration.toml · wave 2/3 · 00:12:40
//! done 1 · running 2 · waiting 4 · failed 1 · paused 0 of 8
//! MEMBER     W STATE        STEP                       LAG          POOL DISK CHECK    GATE / WHY
//! shard-3    2 rolled back  1.7 Target reachable       -            -    -    -        step 1.7 failed: …
//! ```

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::fleet::row::{MemberRow, Severity};
use crate::fleet::view::{Filter, FleetView};
use crate::format;
use crate::theme::Theme;

/// Rows above the list (title, counts, column names) and below it (notice
/// or prompt, keys).
const TOP: u16 = 3;
const BOTTOM: u16 = 2;
/// Below this the screen says it is too small.
pub const MIN_COLS: u16 = 60;
pub const MIN_ROWS: u16 = 8;

/// How many member rows fit in a terminal `rows` high.
#[must_use]
pub fn list_height(rows: u16) -> usize {
    usize::from(rows.saturating_sub(TOP + BOTTOM)).max(1)
}

/// A column: its heading, its width, and from which terminal width it shows.
struct Column {
    head: &'static str,
    width: usize,
    from: u16,
}

const NAME: Column = Column { head: "MEMBER", width: 12, from: 0 };
const WAVE: Column = Column { head: "W", width: 2, from: 0 };
const STATE: Column = Column { head: "STATE", width: 12, from: 0 };
const STEP_WIDE: usize = 30;
const STEP_NARROW: usize = 18;
const LAG: Column = Column { head: "LAG", width: 15, from: 0 };
const POOL: Column = Column { head: "POOL", width: 5, from: 100 };
const DISK: Column = Column { head: "DISK", width: 5, from: 100 };
const CHECK: Column = Column { head: "CHECK", width: 11, from: 150 };
const PAUSE: Column = Column { head: "PAUSE", width: 9, from: 150 };

/// Draw the fleet screen.
pub fn draw(frame: &mut Frame, view: &FleetView, theme: &Theme) {
    let area = frame.area();
    frame.buffer_mut().set_style(area, theme.text);
    if area.width < MIN_COLS || area.height < MIN_ROWS {
        let lines = vec![
            Line::styled("Terminal too small", theme.critical),
            Line::styled(
                format!("{}x{} here; the fleet screen needs {MIN_COLS}x{MIN_ROWS}.", area.width, area.height),
                theme.text,
            ),
        ];
        frame.render_widget(Paragraph::new(lines), area);
        return;
    }
    let line = |y: u16| Rect { y: area.y + y, height: 1, ..area };
    frame.render_widget(Paragraph::new(title(view, theme)), line(0));
    frame.render_widget(Paragraph::new(totals(view, theme)), line(1));
    let wide = area.width >= 150;
    frame.render_widget(Paragraph::new(Line::styled(heading(area.width, wide), theme.header)), line(2));
    let visible = view.visible();
    let height = list_height(area.height);
    let selected = view.selected_index();
    let scroll = view.scroll.min(visible.len().saturating_sub(1));
    for (k, row) in visible.iter().skip(scroll).take(height).enumerate() {
        let mut l = member_line(row, area.width, wide, theme);
        if Some(scroll + k) == selected {
            l = l.style(theme.selected);
        }
        frame.render_widget(Paragraph::new(l), line(TOP + k as u16));
    }
    let below = visible.len().saturating_sub(scroll + height);
    let status = match (&view.prompt, &view.notice) {
        (Some(p), _) => {
            let ask = match &p.expect {
                Some(word) => format!("type {word} + Enter (Esc cancels) to {}: {}", lower_first(&p.question), p.typed),
                None => format!("y/n: {}?", p.question),
            };
            Line::styled(ask, theme.warn)
        }
        (None, Some(notice)) => Line::styled(notice.clone(), theme.accent),
        (None, None) if scroll > 0 || below > 0 => {
            Line::styled(format!("{scroll} more above · {below} more below"), theme.dim)
        }
        (None, None) => Line::default(),
    };
    frame.render_widget(Paragraph::new(status), line(area.height - 2));
    frame.render_widget(Paragraph::new(keys(theme, area.width)), line(area.height - 1));
    if view.help {
        help(frame, theme, area);
    }
    if theme.symbols.ascii {
        super::asciify(frame.buffer_mut());
    }
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

fn title(view: &FleetView, theme: &Theme) -> Line<'static> {
    let sep = theme.symbols.separator;
    let mut spans = vec![
        Span::styled(view.title.clone(), theme.title),
        Span::styled(format!(" {sep} {}", view.runbook), theme.dim),
    ];
    match (&view.stopped, view.wave) {
        (Some(why), _) => spans.push(Span::styled(format!(" {sep} STOPPED: {why}"), theme.critical)),
        (None, Some(w)) => spans.push(Span::styled(format!(" {sep} wave {w}/{}", view.waves), theme.text)),
        (None, None) => spans.push(Span::styled(format!(" {sep} no wave running"), theme.dim)),
    }
    if let (Some(now), Some(started)) = (view.now, view.started) {
        spans.push(Span::styled(format!(" {sep} {}", format::hms(now - started)), theme.dim));
    }
    if view.read_only {
        spans.push(Span::styled(format!(" {sep} read-only"), theme.warn));
    }
    Line::from(spans)
}

fn totals(view: &FleetView, theme: &Theme) -> Line<'static> {
    let t = view.totals;
    let sep = theme.symbols.separator;
    let part =
        |n: usize, word: &str, style: Style| Span::styled(format!("{word} {n}"), if n > 0 { style } else { theme.dim });
    let mut spans = vec![
        part(t.done, "done", theme.ok),
        Span::styled(format!(" {sep} "), theme.dim),
        part(t.running, "running", theme.text),
        Span::styled(format!(" {sep} "), theme.dim),
        part(t.waiting, "waiting", theme.text),
        Span::styled(format!(" {sep} "), theme.dim),
        part(t.failed, "failed", theme.critical),
        Span::styled(format!(" {sep} "), theme.dim),
        part(t.paused, "paused", theme.warn),
        Span::styled(format!(" of {}", t.members), theme.text),
    ];
    if view.filter != Filter::All {
        spans.push(Span::styled(format!(" {sep} showing {}", view.filter.word()), theme.accent));
    }
    Line::from(spans)
}

fn pad(text: &str, width: usize) -> String {
    let mut out: String = text.chars().take(width).collect();
    let n = out.chars().count();
    if text.chars().count() > width && width > 1 {
        out = text.chars().take(width - 1).collect::<String>() + "~";
    }
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
    out
}

fn shown(c: &Column, cols: u16) -> bool {
    cols >= c.from
}

fn heading(cols: u16, wide: bool) -> String {
    let step = if wide { STEP_WIDE } else { STEP_NARROW };
    let mut out = format!(
        "{} {} {} {} {}",
        pad(NAME.head, NAME.width),
        pad(WAVE.head, WAVE.width),
        pad(STATE.head, STATE.width),
        pad("STEP", step),
        pad(LAG.head, LAG.width)
    );
    for c in [&POOL, &DISK, &CHECK, &PAUSE] {
        if shown(c, cols) {
            out.push(' ');
            out.push_str(&pad(c.head, c.width));
        }
    }
    out.push_str(" GATE / WHY");
    out
}

/// The member's state word: its phase, or for a running member what holds it.
fn state_word(row: &MemberRow) -> String {
    match row.severity {
        Severity::Blocked if !row.unreachable.is_empty() => "unreachable".to_owned(),
        Severity::Blocked => "gate closed".to_owned(),
        Severity::Awaiting if row.awaiting.as_deref() == Some("decide") => "decide".to_owned(),
        Severity::Awaiting => "confirm?".to_owned(),
        Severity::Paused => "PAUSED".to_owned(),
        _ => row.phase.word().to_owned(),
    }
}

fn member_line(row: &MemberRow, cols: u16, wide: bool, theme: &Theme) -> Line<'static> {
    let style = match row.severity {
        Severity::Failed => theme.critical,
        Severity::Blocked | Severity::Paused => theme.warn,
        Severity::Awaiting => theme.accent,
        Severity::Done => theme.ok,
        Severity::Waiting => theme.dim,
        Severity::Running => theme.text,
    };
    let step_width = if wide { STEP_WIDE } else { STEP_NARROW };
    let step = row.step.as_ref().map(|(id, name)| format!("{id} {name}")).unwrap_or_else(|| "-".to_owned());
    let lag = match (row.lag_bytes, row.lag_seconds) {
        (Some(b), Some(s)) => format!("{} {}", format::bytes(b), format::seconds(s)),
        (Some(b), None) => format::bytes(b),
        (None, Some(s)) => format::seconds(s),
        (None, None) => "-".to_owned(),
    };
    let pct = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}%"));
    let mut text = format!(
        "{} {} {} {} {}",
        pad(&row.name, NAME.width),
        pad(&row.wave.to_string(), WAVE.width),
        pad(&state_word(row), STATE.width),
        pad(&step, step_width),
        pad(&lag, LAG.width)
    );
    if shown(&POOL, cols) {
        text.push_str(&format!(" {}", pad(&pct(row.pool_used_pct), POOL.width)));
    }
    if shown(&DISK, cols) {
        text.push_str(&format!(" {}", pad(&pct(row.disk_free_pct), DISK.width)));
    }
    if shown(&CHECK, cols) {
        let check = row.checksum.map_or_else(
            || "-".to_owned(),
            |c| {
                let done = if c.chunks_total == 0 { 0.0 } else { 100.0 * c.chunks_done as f64 / c.chunks_total as f64 };
                if c.differences > 0 { format!("{done:.0}% {}diff", c.differences) } else { format!("{done:.0}%") }
            },
        );
        text.push_str(&format!(" {}", pad(&check, CHECK.width)));
    }
    if shown(&PAUSE, cols) {
        let pause = row
            .write_pause
            .map_or_else(|| "-".to_owned(), |(s, going)| if going { format!("{s:.1}s!") } else { format!("{s:.1}s") });
        text.push_str(&format!(" {}", pad(&pause, PAUSE.width)));
    }
    let why = match (&row.reason, &row.gate, row.unreachable.is_empty()) {
        (Some(reason), _, _) => reason.clone(),
        (None, _, false) => format!("{} unreachable", row.unreachable.join(", ")),
        (None, Some((open, reason)), _) => format!("{}: {reason}", if *open { "open" } else { "closed" }),
        (None, None, _) => String::new(),
    };
    text.push(' ');
    text.push_str(&why);
    Line::styled(pad(&text, usize::from(cols)), style)
}

fn keys(theme: &Theme, cols: u16) -> Line<'static> {
    let (up, down) = if theme.symbols.ascii { ("up", "dn") } else { ("↑", "↓") };
    let all = format!(
        "{up}{down} select  Enter open  c confirm  C confirm wave  r roll back  R roll back wave  p pause  f filter  ? help  q quit"
    );
    let short = format!("{up}{down} Enter c C r R p f ? q");
    Line::styled(if usize::from(cols) >= all.chars().count() { all } else { short }, theme.dim)
}

fn help(frame: &mut Frame, theme: &Theme, area: Rect) {
    let lines = [
        "Fleet keys",
        "",
        "Up/Down j/k  select a member (PgUp/PgDn, Home/End)",
        "Enter        open its cockpit (Esc or q comes back)",
        "c            confirm the step it waits for",
        "C            confirm that step for its whole wave",
        "             (a destructive step: type wave-N)",
        "r / R        roll back the member / its wave (typed)",
        "p            pause the fleet: no member starts; p again goes on",
        "f            filter: all, attention, running, waiting, done",
        "q            leave (running members pause; fleet resume)",
        "?            this help",
    ];
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u16 + 4;
    let height = lines.len() as u16 + 2;
    let rect = Rect {
        x: area.x + area.width.saturating_sub(width) / 2,
        y: area.y + area.height.saturating_sub(height) / 2,
        width: width.min(area.width),
        height: height.min(area.height),
    };
    frame.render_widget(Clear, rect);
    let block = ratatui::widgets::Block::bordered().border_set(theme.symbols.border).border_style(theme.border_focus);
    let text: Vec<Line> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| Line::styled(*l, if i == 0 { theme.title } else { theme.text }))
        .collect();
    frame.render_widget(Paragraph::new(text).block(block), rect);
}
