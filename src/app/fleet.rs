//! The fleet cockpit: the fleet screen over every member, worst first; Enter
//! opens one member's own cockpit (its keys are its cockpit's), Esc comes
//! back. Decisions for one member or a whole wave: confirm the step they
//! wait for, roll back; a destructive one typed as the wave's name.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::{Result, WrapErr, eyre};
use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::events::{Action, Awaiting, RunCommand};
use crate::fleet::driver::{Driver, Members};
use crate::fleet::view::{FleetPrompt, FleetView};
use crate::keymap;
use crate::state::{Effect, State};
use crate::terminal::TerminalGuard;
use crate::theme::Theme;

/// Redraws are at least this far apart: the rows are rebuilt from every
/// member's fold at each.
const FRAME: Duration = Duration::from_millis(250);

/// What a member's attached run says to its screen.
#[allow(clippy::large_enum_variant)] // as the cockpit's own channel of actions
enum Said {
    Start(usize, Box<State>),
    Act(usize, Action),
}

/// What the operator is answering.
enum Pending {
    Confirm { members: Vec<usize>, step: String, word: Option<String> },
    Rollback { members: Vec<usize> },
    Quit,
}

type Commands = Arc<Mutex<Vec<Option<mpsc::Sender<RunCommand>>>>>;

/// The fleet cockpit over `driver`'s fleet until the operator quits (the
/// running members pause then, and `fleet resume` goes on). `attach`: the
/// members wait for the operator's confirmations (otherwise they run
/// unattended and the screen only shows them). Returns the fleet's exit code.
///
/// # Errors
/// The terminal cannot be used; the fleet's journal cannot be written.
pub async fn run<M: Members>(mut driver: Driver<M>, theme: Theme, attach: bool) -> Result<i32> {
    driver.quiet();
    let fleet = driver.fleet().clone();
    let board = driver.board.clone();
    let n = fleet.members.len();
    let (said_tx, mut said) = mpsc::channel::<Said>(4096);
    let commands: Commands = Arc::new(Mutex::new(vec![None; n]));
    if attach {
        let commands = commands.clone();
        driver.attach_with(Box::new(move |i, runner| {
            let (ui_tx, mut ui_rx) = mpsc::channel(1024);
            let (cmd_tx, cmd_rx) = mpsc::channel(16);
            let (runner, state) = runner.attach(ui_tx, cmd_rx);
            lock(&commands)[i] = Some(cmd_tx);
            let tx = said_tx.clone();
            tokio::spawn(async move {
                if tx.send(Said::Start(i, Box::new(state))).await.is_err() {
                    return;
                }
                while let Some(action) = ui_rx.recv().await {
                    if tx.send(Said::Act(i, action)).await.is_err() {
                        break;
                    }
                }
            });
            runner
        }));
    }
    let (quit, quit_rx) = watch::channel(None);
    let mut task = tokio::spawn(driver.run(quit_rx));

    let mut terminal = TerminalGuard::enter()?;
    let (mut cols, mut rows) = terminal.size()?;
    let mut input = EventStream::new();
    let mut signals = super::Signals::new()?;
    let mut view = FleetView {
        title: fleet.name.clone(),
        runbook: fleet.runbook.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        started: Some(Utc::now()),
        waves: fleet.wave_members().len(),
        ..FleetView::default()
    };
    // The screens of attached members (their own fold of what they said).
    let mut screens: Vec<Option<State>> = vec![None; n];
    let names: Vec<String> = fleet.members.iter().map(|m| m.name.clone()).collect();
    let mut open: Option<usize> = None;
    let mut pending: Option<Pending> = None;
    let mut code: Option<i32> = None;
    let mut next_frame = Instant::now();
    loop {
        if Instant::now() >= next_frame {
            refresh(&mut view, &board, &fleet);
            if let Some(c) = code {
                view.notice.get_or_insert_with(|| format!("the fleet is over (exit {c}): q leaves"));
            }
            let member = open.and_then(|i| member_screen(i, &screens, &board, (cols, rows)));
            terminal.draw(|frame| match &member {
                Some(state) => crate::ui::draw(frame, state, &theme),
                None => crate::ui::fleet::draw(frame, &view, &theme),
            })?;
            next_frame = Instant::now() + FRAME;
        }
        tokio::select! {
            event = input.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    let leave = match open {
                        Some(i) => {
                            member_key(i, key, &mut screens, &commands, (cols, rows), &mut open).await;
                            false
                        }
                        None => fleet_key(key, &mut view, &mut pending, &board, &commands, &mut open, &names, rows).await,
                    };
                    if leave {
                        break;
                    }
                    next_frame = Instant::now();
                }
                Some(Ok(Event::Resize(c, r))) => {
                    (cols, rows) = (c, r);
                    next_frame = Instant::now();
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e).wrap_err("reading the terminal"),
                None => break,
            },
            Some(msg) = said.recv() => match msg {
                Said::Start(i, state) => screens[i] = Some(*state),
                Said::Act(i, action) => {
                    if let Some(s) = screens[i].as_mut() {
                        s.update(&action);
                    }
                }
            },
            ended = &mut task, if code.is_none() => {
                code = Some(ended.map_err(|e| eyre!("the fleet's task failed: {e}"))??);
            }
            () = signals.recv() => break,
            () = tokio::time::sleep_until(next_frame) => {}
        }
    }
    drop(terminal);
    if let Some(code) = code {
        return Ok(code);
    }
    let _ = quit.send(Some("the operator left the fleet cockpit".to_owned()));
    let bound = crate::runbook::stop::GRACE + crate::runbook::stop::KILL_GRACE + Duration::from_secs(15);
    // The members' screens must keep draining while they stop.
    let drain = tokio::spawn(async move { while said.recv().await.is_some() {} });
    let code = match tokio::time::timeout(bound, task).await {
        Ok(ended) => ended.map_err(|e| eyre!("the fleet's task failed: {e}"))??,
        Err(_) => {
            eprintln!(
                "cutover: the fleet did not stop within {}s; a member's step may still be running",
                bound.as_secs()
            );
            crate::fleet::driver::EXIT_NOT_ALL_DONE
        }
    };
    drain.abort();
    eprintln!("cutover: the fleet is not over; continue it with `cutover fleet resume {}`", fleet.path.display());
    Ok(code)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The rows, the wave and why no member starts, from the board.
fn refresh(view: &mut FleetView, board: &Mutex<crate::fleet::driver::Board>, fleet: &crate::fleet::file::Fleet) {
    let b = lock(board);
    let rows = b.rows(fleet);
    view.wave = b.schedule.wave().map(|w| w + 1);
    view.stopped = b.schedule.stopped.clone().or_else(|| b.schedule.paused.clone()).or_else(|| b.schedule.held.clone());
    drop(b);
    view.now = Some(Utc::now());
    view.set_rows(rows);
}

/// What member `i`'s cockpit shows: its attached screen, or (unattended)
/// its run's fold.
fn member_screen(
    i: usize,
    screens: &[Option<State>],
    board: &Mutex<crate::fleet::driver::Board>,
    size: (u16, u16),
) -> Option<State> {
    let mut state = match &screens[i] {
        Some(s) => s.clone(),
        None => lock(board).slots[i].state.as_ref().map(|s| lock(s).clone())?,
    };
    state.update(&Action::Resize { cols: size.0, rows: size.1 });
    Some(state)
}

/// A key in a member's cockpit: its own keys; `q` and Esc (with nothing
/// open) come back to the fleet.
async fn member_key(
    i: usize,
    key: KeyEvent,
    screens: &mut [Option<State>],
    commands: &Commands,
    size: (u16, u16),
    open: &mut Option<usize>,
) {
    let Some(state) = screens[i].as_mut() else {
        // Unattended: a view only.
        if matches!(key.code, KeyCode::Esc | KeyCode::Char('q')) {
            *open = None;
        }
        return;
    };
    let nothing_open = state.run.prompt.is_none() && !state.ui.help && state.ui.zoom.is_none();
    if key.code == KeyCode::Esc && nothing_open {
        *open = None;
        return;
    }
    let action = if state.run.prompt.is_some() { keymap::prompt_action_for(key) } else { keymap::action_for(key) };
    let Some(action) = action else { return };
    state.update(&Action::Resize { cols: size.0, rows: size.1 });
    for effect in state.update(&action) {
        match effect {
            Effect::Quit => *open = None,
            Effect::Command(command) => {
                let tx = lock(commands)[i].clone();
                if let Some(tx) = tx {
                    let _ = tx.send(command).await;
                }
            }
        }
    }
}

/// A key on the fleet screen; `true`: leave the cockpit.
#[allow(clippy::too_many_arguments)]
async fn fleet_key(
    key: KeyEvent,
    view: &mut FleetView,
    pending: &mut Option<Pending>,
    board: &Mutex<crate::fleet::driver::Board>,
    commands: &Commands,
    open: &mut Option<usize>,
    names: &[String],
    rows: u16,
) -> bool {
    let height = crate::ui::fleet::list_height(rows);
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        return true;
    }
    if let Some(prompt) = view.prompt.as_mut() {
        let answer = match (key.code, &prompt.expect) {
            (KeyCode::Esc, _) | (KeyCode::Char('n'), None) => Some(false),
            (KeyCode::Char('y') | KeyCode::Enter, None) => Some(true),
            (KeyCode::Enter, Some(word)) => Some(&prompt.typed == word),
            (KeyCode::Backspace, Some(_)) => {
                prompt.typed.pop();
                None
            }
            (KeyCode::Char(c), Some(_)) => {
                prompt.typed.push(c);
                None
            }
            _ => None,
        };
        let Some(yes) = answer else { return false };
        let typed_right = prompt.expect.as_ref().is_none_or(|w| &prompt.typed == w);
        view.prompt = None;
        let Some(what) = pending.take() else { return false };
        if !yes {
            view.notice =
                Some(if typed_right { "cancelled".to_owned() } else { "not what was asked: cancelled".to_owned() });
            return false;
        }
        return decide(what, view, commands).await;
    }
    view.notice = None;
    let selected = view.selected.clone().and_then(|name| view.rows.iter().find(|r| r.name == name).cloned());
    let index = |name: &str| names.iter().position(|n| n == name).unwrap_or(0);
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => view.move_selection(-1, height),
        KeyCode::Down | KeyCode::Char('j') => view.move_selection(1, height),
        KeyCode::PageUp => view.move_selection(-(height as isize), height),
        KeyCode::PageDown => view.move_selection(height as isize, height),
        KeyCode::Home | KeyCode::Char('g') => view.move_selection(isize::MIN / 2, height),
        KeyCode::End | KeyCode::Char('G') => view.move_selection(isize::MAX / 2, height),
        KeyCode::Char('f') => {
            view.filter = view.filter.next();
            view.scroll = 0;
            view.selected = view.visible().first().map(|r| r.name.clone());
        }
        KeyCode::Char('?') => view.help = !view.help,
        KeyCode::Esc => view.help = false,
        KeyCode::Enter => {
            if let Some(row) = &selected {
                *open = Some(index(&row.name));
            }
        }
        KeyCode::Char('p') => {
            let mut b = lock(board);
            b.schedule.paused = match b.schedule.paused {
                Some(_) => None,
                None => Some("the operator paused the fleet (p goes on)".to_owned()),
            };
        }
        KeyCode::Char('q') => {
            *pending = Some(Pending::Quit);
            view.prompt = Some(FleetPrompt {
                question: "Leave? Running members pause; `cutover fleet resume` goes on".to_owned(),
                expect: None,
                typed: String::new(),
            });
        }
        KeyCode::Char(c @ ('c' | 'C' | 'r' | 'R')) => {
            let Some(row) = selected else { return false };
            if lock(commands).iter().all(Option::is_none) {
                view.notice = Some("the members run unattended here: nothing to confirm or roll back".to_owned());
                return false;
            }
            let i = index(&row.name);
            let wave = lock(board).schedule.wave_of(i);
            let members: Vec<usize> =
                if c.is_ascii_uppercase() { lock(board).schedule.waves()[wave].clone() } else { vec![i] };
            let whom = if c.is_ascii_uppercase() {
                format!("wave {} ({} members)", wave + 1, members.len())
            } else {
                row.name.clone()
            };
            if c.eq_ignore_ascii_case(&'r') {
                let running: Vec<usize> = members
                    .into_iter()
                    .filter(|&m| lock(board).schedule.phases[m] == crate::fleet::row::MemberPhase::Running)
                    .collect();
                if running.is_empty() {
                    view.notice = Some(format!("{whom}: nothing running to roll back"));
                    return false;
                }
                let expect = if c == 'R' { format!("wave-{}", wave + 1) } else { row.name.clone() };
                view.prompt = Some(FleetPrompt {
                    question: format!("Roll back {whom}: {} running", running.len()),
                    expect: Some(expect),
                    typed: String::new(),
                });
                *pending = Some(Pending::Rollback { members: running });
                return false;
            }
            // Confirm: the step the selected member waits for, for every
            // member asked that waits for the same. What they wait for is
            // read from their runs' folds: what the rows show.
            let folds: Vec<Option<State>> = {
                let b = lock(board);
                members.iter().map(|&m| b.slots[m].state.as_ref().map(|s| lock(s).clone())).collect()
            };
            let at = members.iter().position(|&m| m == i).unwrap_or(0);
            let awaits = |k: usize| match folds[k].as_ref().and_then(|s| s.run.awaiting.clone()) {
                Some(Awaiting::Confirm { step }) => Some(step),
                _ => None,
            };
            let Some(step) = awaits(at) else {
                view.notice = Some(format!("{} is not waiting for a confirmation", row.name));
                return false;
            };
            let waiting: Vec<usize> = members
                .iter()
                .enumerate()
                .filter(|(k, _)| awaits(*k).as_ref() == Some(&step))
                .map(|(_, &m)| m)
                .collect();
            let outline_step = folds[at]
                .as_ref()
                .and_then(|s| s.outline.as_ref())
                .and_then(|o| o.phases.iter().flat_map(|p| &p.steps).find(|s| s.id == step).cloned());
            let word = outline_step.as_ref().and_then(crate::events::OutlineStep::confirm_word);
            let name = outline_step.map(|s| s.name).unwrap_or_default();
            let expect = match (&word, c) {
                (None, _) => None,
                (Some(_), 'C') => Some(format!("wave-{}", wave + 1)),
                (Some(w), _) => Some(w.clone()),
            };
            let whom = if c == 'C' { format!("wave {} ({} members)", wave + 1, waiting.len()) } else { whom };
            view.prompt =
                Some(FleetPrompt { question: format!("Run {step} {name} on {whom}"), expect, typed: String::new() });
            *pending = Some(Pending::Confirm { members: waiting, step, word });
        }
        _ => {}
    }
    false
}

/// Carry out what the operator answered yes to; `true`: leave.
async fn decide(what: Pending, view: &mut FleetView, commands: &Commands) -> bool {
    let send = |members: &[usize], command: RunCommand| {
        let txs: Vec<_> = members.iter().filter_map(|&m| lock(commands)[m].clone()).collect();
        async move {
            let mut sent = 0;
            for tx in txs {
                if tx.send(command.clone()).await.is_ok() {
                    sent += 1;
                }
            }
            sent
        }
    };
    match what {
        Pending::Quit => return true,
        Pending::Confirm { members, step, word } => {
            let sent = send(&members, RunCommand::Confirm { step: step.clone(), typed: word }).await;
            view.notice = Some(format!("{step} confirmed for {sent} member(s)"));
        }
        Pending::Rollback { members } => {
            let sent = send(&members, RunCommand::Rollback).await;
            view.notice = Some(format!("rollback asked of {sent} member(s)"));
        }
    }
    false
}
