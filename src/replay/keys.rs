//! A replay's own keys, as data; every other key goes to the cockpit's keymap
//! (focus, zoom, help, quit), and those that would act on a run are refused.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::Control;

const NONE: KeyModifiers = KeyModifiers::NONE;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

/// (key, modifiers, label, help, control)
pub const BINDINGS: &[(KeyCode, KeyModifiers, &str, &str, Control)] = &[
    (KeyCode::Char(' '), NONE, "space", "pause / play", Control::PlayPause),
    (KeyCode::Char('+'), NONE, "+", "twice as fast (up to x64)", Control::Faster),
    (KeyCode::Char('='), NONE, "=", "twice as fast", Control::Faster),
    (KeyCode::Char('-'), NONE, "-", "half as fast (down to x1/16)", Control::Slower),
    (KeyCode::Right, NONE, "Right", "forward 10 s", Control::Seek(10)),
    (KeyCode::Left, NONE, "Left", "back 10 s", Control::Seek(-10)),
    (KeyCode::Char('>'), NONE, ">", "forward 1 min", Control::Seek(60)),
    (KeyCode::Char('<'), NONE, "<", "back 1 min", Control::Seek(-60)),
    (KeyCode::Right, SHIFT, "Shift-Right", "next step boundary", Control::NextStep),
    (KeyCode::Char(']'), NONE, "]", "next step boundary", Control::NextStep),
    (KeyCode::Left, SHIFT, "Shift-Left", "previous step boundary", Control::PrevStep),
    (KeyCode::Char('['), NONE, "[", "previous step boundary", Control::PrevStep),
    (KeyCode::Char('}'), NONE, "}", "next phase", Control::NextPhase),
    (KeyCode::Char('{'), NONE, "{", "previous phase", Control::PrevPhase),
    (KeyCode::Home, NONE, "Home", "the start", Control::Home),
    (KeyCode::End, NONE, "End", "the end", Control::End),
];

/// The replay control a key asks for, if it is one.
#[must_use]
pub fn control_for(key: KeyEvent) -> Option<Control> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    // Terminals report shifted characters ('+', '}') with or without SHIFT.
    let mods = if matches!(key.code, KeyCode::Char(_)) { key.modifiers - SHIFT } else { key.modifiers };
    BINDINGS.iter().find(|(code, m, ..)| *code == key.code && *m == mods).map(|b| b.4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_arrows_jump_steps_and_plain_arrows_seek() {
        let press = |code, mods| control_for(KeyEvent::new(code, mods));
        assert_eq!(press(KeyCode::Right, SHIFT), Some(Control::NextStep));
        assert_eq!(press(KeyCode::Right, NONE), Some(Control::Seek(10)));
        assert_eq!(press(KeyCode::Char('}'), SHIFT), Some(Control::NextPhase));
        assert_eq!(press(KeyCode::Char(' '), NONE), Some(Control::PlayPause));
        assert_eq!(press(KeyCode::Char('q'), NONE), None, "q goes to the cockpit's keymap");
    }
}
