//! Themes: TOML files in `themes/` turned into ratatui styles, degraded to what
//! the terminal can show (true colour → 256 → the 16 ANSI colours → none).

mod file;
mod symbols;

use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, eyre};
use ratatui::style::{Color, Modifier, Style};

pub use file::{ThemeFile, parse_color};
pub use symbols::{ASCII, Symbols, UNICODE, ascii_fallback};

use crate::diagnostic::Diagnostic;
use crate::state::Level;

/// The themes shipped inside the binary, by name.
pub const BUILT_IN: [(&str, &str); 4] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

pub const DEFAULT_THEME: &str = "dark";

/// How many colours the terminal shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorMode {
    TrueColor,
    Ansi256,
    Ansi16,
    /// No colour at all (`NO_COLOR`, or a terminal that has none): meaning is
    /// carried by symbols, words and bold / reverse.
    Mono,
}

impl ColorMode {
    /// What the environment says the terminal can show.
    #[must_use]
    pub fn detect(env: impl Fn(&str) -> Option<String>) -> Self {
        if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return Self::Mono;
        }
        let term = env("TERM").unwrap_or_default();
        if term == "dumb" {
            return Self::Mono;
        }
        let colorterm = env("COLORTERM").unwrap_or_default();
        if colorterm == "truecolor" || colorterm == "24bit" {
            Self::TrueColor
        } else if term.contains("256color") {
            Self::Ansi256
        } else {
            Self::Ansi16
        }
    }
}

/// Whether the locale says the terminal can show UTF-8.
#[must_use]
pub fn locale_is_utf8(env: impl Fn(&str) -> Option<String>) -> bool {
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"].iter().find_map(|k| env(k).filter(|v| !v.is_empty()));
    locale.is_some_and(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("utf-8") || l.contains("utf8")
    })
}

/// Runtime styles, ready to draw with.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    pub mode: ColorMode,
    pub symbols: Symbols,
    pub text: Style,
    pub dim: Style,
    pub border: Style,
    pub border_focus: Style,
    pub title: Style,
    pub header: Style,
    pub accent: Style,
    pub ok: Style,
    pub warn: Style,
    pub critical: Style,
    /// Figures from a source that stopped answering.
    pub stale: Style,
    pub selected: Style,
}

impl Theme {
    /// Load a theme by built-in name or by path to a TOML file.
    ///
    /// # Errors
    /// An unknown name, an unreadable file, or a bad file (as `FILE:LINE:COL: message`).
    pub fn load(name_or_path: &str, mode: ColorMode, symbols: Symbols) -> Result<Self> {
        if let Some((name, text)) = BUILT_IN.iter().find(|(n, _)| *n == name_or_path) {
            return Self::parse(&format!("themes/{name}.toml"), text, mode, symbols).map_err(|d| eyre!(d));
        }
        let path = Path::new(name_or_path);
        if !path.exists() && !name_or_path.contains(['/', '.']) {
            let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
            return Err(eyre!(
                "no theme named \"{name_or_path}\": built-in themes are {}, or give a path to a .toml file",
                names.join(", ")
            ));
        }
        let text =
            std::fs::read_to_string(path).wrap_err_with(|| format!("cannot read theme file {}", path.display()))?;
        Self::parse(&path.display().to_string(), &text, mode, symbols).map_err(|d| eyre!(d))
    }

    /// Parse a theme file's text.
    ///
    /// # Errors
    /// Where the file is wrong, as a [`Diagnostic`].
    pub fn parse(file: &str, text: &str, mode: ColorMode, symbols: Symbols) -> Result<Self, Diagnostic> {
        let parsed: ThemeFile = toml::from_str(text).map_err(|e| Diagnostic::from_toml(file, text, &e))?;
        Ok(Self::from_file(&parsed, mode, symbols))
    }

    fn from_file(file: &ThemeFile, mode: ColorMode, symbols: Symbols) -> Self {
        let c = &file.colors;
        let bg = degrade(c.background.0, mode);
        let style = |color: file::FileColor| Style::new().fg(degrade(color.0, mode)).bg(bg);
        // A theme without colours (or a terminal without them) carries emphasis in
        // reverse video instead.
        let mono = mode == ColorMode::Mono || [c.ok, c.warn, c.critical].iter().all(|c| c.0 == Color::Reset);
        let bold = Modifier::BOLD;
        Self {
            name: file.name.clone(),
            mode,
            symbols,
            text: style(c.text),
            dim: style(c.dim).add_modifier(if mono { Modifier::DIM } else { Modifier::empty() }),
            border: style(c.border),
            border_focus: style(c.border_focus).add_modifier(bold),
            title: style(c.title).add_modifier(bold),
            header: style(c.header).add_modifier(if mono { Modifier::REVERSED } else { bold }),
            accent: style(c.accent),
            ok: style(c.ok),
            warn: style(c.warn).add_modifier(bold),
            critical: style(c.critical).add_modifier(if mono { bold | Modifier::REVERSED } else { bold }),
            stale: style(c.stale).add_modifier(Modifier::DIM),
            selected: style(c.text).add_modifier(Modifier::REVERSED),
        }
    }

    #[must_use]
    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Ok => self.ok,
            Level::Warn => self.warn,
            Level::Critical => self.critical,
        }
    }
}

/// The 16 ANSI colours as xterm draws them, for mapping true colour down.
const ANSI16_RGB: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

/// A colour the terminal in `mode` can show.
#[must_use]
pub fn degrade(color: Color, mode: ColorMode) -> Color {
    match (mode, color) {
        (ColorMode::Mono, _) => Color::Reset,
        (ColorMode::TrueColor, c) => c,
        (ColorMode::Ansi256, Color::Rgb(r, g, b)) => Color::Indexed(rgb_to_256(r, g, b)),
        (ColorMode::Ansi16, Color::Rgb(r, g, b)) => nearest_ansi16(r, g, b),
        (ColorMode::Ansi16, Color::Indexed(i)) if i >= 16 => {
            let (r, g, b) = index_to_rgb(i);
            nearest_ansi16(r, g, b)
        }
        (_, c) => c,
    }
}

fn nearest_ansi16(r: u8, g: u8, b: u8) -> Color {
    let dist = |(cr, cg, cb): (u8, u8, u8)| {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        d(r, cr) + d(g, cg) + d(b, cb)
    };
    ANSI16_RGB.iter().min_by_key(|(_, rgb)| dist(*rgb)).map_or(Color::Reset, |(c, _)| *c)
}

const CUBE_LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];

fn rgb_to_256(r: u8, g: u8, b: u8) -> u8 {
    let level = |v: u8| -> u8 {
        let (i, _) = CUBE_LEVELS
            .iter()
            .enumerate()
            .min_by_key(|(_, l)| (i32::from(**l) - i32::from(v)).abs())
            .unwrap_or((0, &0));
        u8::try_from(i).unwrap_or(0)
    };
    16 + 36 * level(r) + 6 * level(g) + level(b)
}

fn index_to_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        16..=231 => {
            let i = i - 16;
            (CUBE_LEVELS[usize::from(i / 36)], CUBE_LEVELS[usize::from((i / 6) % 6)], CUBE_LEVELS[usize::from(i % 6)])
        }
        232..=255 => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
        _ => ANSI16_RGB[usize::from(i)].1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_colour_degrades_to_the_nearest_ansi_colour() {
        assert_eq!(degrade(Color::Rgb(250, 10, 10), ColorMode::Ansi16), Color::LightRed);
        assert_eq!(degrade(Color::Rgb(0, 0, 0), ColorMode::Ansi16), Color::Black);
        assert_eq!(degrade(Color::Rgb(255, 135, 0), ColorMode::Ansi256), Color::Indexed(208));
        assert_eq!(degrade(Color::Indexed(196), ColorMode::Ansi16), Color::LightRed);
        assert_eq!(degrade(Color::Green, ColorMode::Mono), Color::Reset);
        assert_eq!(degrade(Color::Green, ColorMode::Ansi16), Color::Green);
    }

    #[test]
    fn no_color_wins_and_term_decides_the_rest() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(ColorMode::detect(env(&[("NO_COLOR", "1"), ("COLORTERM", "truecolor")])), ColorMode::Mono);
        assert_eq!(ColorMode::detect(env(&[("NO_COLOR", ""), ("TERM", "xterm")])), ColorMode::Ansi16);
        assert_eq!(ColorMode::detect(env(&[("TERM", "screen")])), ColorMode::Ansi16);
        assert_eq!(ColorMode::detect(env(&[("TERM", "tmux-256color")])), ColorMode::Ansi256);
        assert_eq!(ColorMode::detect(env(&[("COLORTERM", "truecolor")])), ColorMode::TrueColor);
        assert!(locale_is_utf8(env(&[("LANG", "en_US.UTF-8")])));
        assert!(!locale_is_utf8(env(&[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")])));
        assert!(!locale_is_utf8(env(&[])));
    }

    #[test]
    fn every_built_in_theme_loads_in_every_mode() {
        for (name, _) in BUILT_IN {
            for mode in [ColorMode::TrueColor, ColorMode::Ansi256, ColorMode::Ansi16, ColorMode::Mono] {
                let theme = Theme::load(name, mode, UNICODE);
                assert!(theme.is_ok(), "{name}: {theme:?}");
            }
        }
    }

    #[test]
    fn the_default_theme_uses_only_the_16_ansi_colours() {
        let theme = Theme::load(DEFAULT_THEME, ColorMode::TrueColor, UNICODE).unwrap();
        for style in
            [theme.text, theme.dim, theme.border, theme.title, theme.ok, theme.warn, theme.critical, theme.stale]
        {
            for color in [style.fg, style.bg].into_iter().flatten() {
                assert!(!matches!(color, Color::Rgb(..) | Color::Indexed(_)), "{color:?}");
            }
        }
    }

    #[test]
    fn mono_mode_has_no_colour_but_keeps_emphasis() {
        let theme = Theme::load("light", ColorMode::Mono, UNICODE).unwrap();
        assert_eq!(theme.critical.fg, Some(Color::Reset));
        assert!(theme.critical.add_modifier.contains(Modifier::REVERSED));
    }
}
