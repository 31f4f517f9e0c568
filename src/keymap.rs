//! Keys → actions, as data. The help screen is drawn from the same table, so
//! it can never disagree with what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::events::{Action, Pane, PromptKey};

/// One binding: the keys, what they are called in the help, and what they do.
pub struct Binding {
    pub keys: &'static [(KeyCode, KeyModifiers)],
    pub label: &'static str,
    pub help: &'static str,
    pub action: fn() -> Action,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[(KeyCode::Char('?'), NONE), (KeyCode::F(1), NONE)],
        label: "?  F1",
        help: "show / hide this help",
        action: || Action::ToggleHelp,
    },
    Binding { keys: &[(KeyCode::Tab, NONE)], label: "Tab", help: "focus the next pane", action: || Action::FocusNext },
    Binding {
        keys: &[(KeyCode::BackTab, SHIFT), (KeyCode::BackTab, NONE)],
        label: "Shift-Tab",
        help: "focus the previous pane",
        action: || Action::FocusPrev,
    },
    Binding {
        keys: &[(KeyCode::Char('h'), NONE), (KeyCode::Left, NONE)],
        label: "h  Left",
        help: "focus the pane to the left",
        action: || Action::FocusLeft,
    },
    Binding {
        keys: &[(KeyCode::Char('l'), NONE), (KeyCode::Right, NONE)],
        label: "l  Right",
        help: "focus the pane to the right",
        action: || Action::FocusRight,
    },
    Binding {
        keys: &[(KeyCode::Char('k'), NONE), (KeyCode::Up, NONE)],
        label: "k  Up",
        help: "focus the pane above",
        action: || Action::FocusUp,
    },
    Binding {
        keys: &[(KeyCode::Char('j'), NONE), (KeyCode::Down, NONE)],
        label: "j  Down",
        help: "focus the pane below",
        action: || Action::FocusDown,
    },
    Binding {
        keys: &[(KeyCode::Char('z'), NONE), (KeyCode::Enter, NONE)],
        label: "z  Enter",
        help: "zoom the focused pane, with its history as a chart",
        action: || Action::Zoom { pane: None },
    },
    Binding {
        keys: &[(KeyCode::Char('1'), NONE)],
        label: "1",
        help: "zoom Replication lag",
        action: || Action::Zoom { pane: Some(Pane::Lag) },
    },
    Binding {
        keys: &[(KeyCode::Char('2'), NONE)],
        label: "2",
        help: "zoom Pool saturation",
        action: || Action::Zoom { pane: Some(Pane::Pool) },
    },
    Binding {
        keys: &[(KeyCode::Char('3'), NONE)],
        label: "3",
        help: "zoom Disk headroom",
        action: || Action::Zoom { pane: Some(Pane::Disk) },
    },
    Binding {
        keys: &[(KeyCode::Char('4'), NONE)],
        label: "4",
        help: "zoom Checksum",
        action: || Action::Zoom { pane: Some(Pane::Checksum) },
    },
    Binding {
        keys: &[(KeyCode::Char('5'), NONE)],
        label: "5",
        help: "zoom Runbook",
        action: || Action::Zoom { pane: Some(Pane::Runbook) },
    },
    Binding {
        keys: &[(KeyCode::Char('6'), NONE)],
        label: "6",
        help: "zoom Events",
        action: || Action::Zoom { pane: Some(Pane::Log) },
    },
    Binding {
        keys: &[(KeyCode::PageUp, NONE), (KeyCode::Char('u'), CTRL)],
        label: "PgUp Ctrl-u",
        help: "scroll the focused list back",
        action: || Action::ScrollUp,
    },
    Binding {
        keys: &[(KeyCode::PageDown, NONE), (KeyCode::Char('d'), CTRL)],
        label: "PgDn Ctrl-d",
        help: "scroll the focused list forward",
        action: || Action::ScrollDown,
    },
    Binding {
        keys: &[(KeyCode::Char('g'), NONE)],
        label: "g",
        help: "run: confirm the next step (Enter on the runbook too)",
        action: || Action::Go,
    },
    Binding {
        keys: &[(KeyCode::Char('x'), NONE)],
        label: "x",
        help: "run: cancel the running step",
        action: || Action::CancelAsk,
    },
    Binding {
        keys: &[(KeyCode::Char('R'), NONE)],
        label: "R",
        help: "run: go to the rollback phase (asks first)",
        action: || Action::RollbackAsk,
    },
    Binding { keys: &[(KeyCode::Esc, NONE)], label: "Esc", help: "close help / zoom", action: || Action::Back },
    Binding {
        keys: &[(KeyCode::Char('q'), NONE)],
        label: "q",
        help: "close help / zoom; otherwise quit",
        action: || Action::Quit,
    },
    Binding { keys: &[(KeyCode::Char('c'), CTRL)], label: "Ctrl-c", help: "quit now", action: || Action::ForceQuit },
];

/// The action a key press asks for, if any.
#[must_use]
pub fn action_for(key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    // Terminals report shifted characters ('?', 'Q') with or without SHIFT.
    let mods = if matches!(key.code, KeyCode::Char(_)) { key.modifiers - SHIFT } else { key.modifiers };
    BINDINGS
        .iter()
        .find(|b| b.keys.iter().any(|(code, m)| *code == key.code && (*m == mods || *m == key.modifiers)))
        .map(|b| (b.action)())
}

/// While a prompt is open, keys answer it (Ctrl-C still quits).
#[must_use]
pub fn prompt_action_for(key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.code == KeyCode::Char('c') && key.modifiers.contains(CTRL) {
        return Some(Action::ForceQuit);
    }
    let k = match key.code {
        KeyCode::Char(c) => PromptKey::Char(c),
        KeyCode::Backspace => PromptKey::Backspace,
        KeyCode::Enter => PromptKey::Enter,
        KeyCode::Esc => PromptKey::Esc,
        _ => return None,
    };
    Some(Action::Prompt(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, mods: KeyModifiers) -> Option<Action> {
        action_for(KeyEvent::new(code, mods))
    }

    #[test]
    fn vi_keys_and_arrows_do_the_same() {
        assert_eq!(press(KeyCode::Char('j'), NONE), press(KeyCode::Down, NONE));
        assert_eq!(press(KeyCode::Char('h'), NONE), Some(Action::FocusLeft));
        assert_eq!(press(KeyCode::Char('?'), SHIFT), Some(Action::ToggleHelp));
        assert_eq!(press(KeyCode::Char('c'), CTRL), Some(Action::ForceQuit));
        assert_eq!(press(KeyCode::Char('q'), NONE), Some(Action::Quit));
        assert_eq!(press(KeyCode::Char('w'), NONE), None);
        assert_eq!(press(KeyCode::Char('R'), SHIFT), Some(Action::RollbackAsk));
    }

    #[test]
    fn no_key_is_bound_twice() {
        let mut seen = std::collections::HashSet::new();
        for b in BINDINGS {
            for k in b.keys {
                assert!(seen.insert(*k), "{k:?} bound twice");
            }
        }
    }
}
