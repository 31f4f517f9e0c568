//! The theme file format (`themes/*.toml`), kept apart from the runtime
//! [`super::Theme`].

use ratatui::style::Color;
use serde::Deserialize;
use serde::de::{self, Deserializer};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeFile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub colors: ColorsFile,
}

/// Every colour is one of the 16 ANSI names (`red`, `bright_black`, …),
/// `default` (the terminal's own), a 256-palette index, or `#rrggbb`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColorsFile {
    pub text: FileColor,
    pub background: FileColor,
    pub dim: FileColor,
    pub border: FileColor,
    pub border_focus: FileColor,
    pub title: FileColor,
    pub header: FileColor,
    pub accent: FileColor,
    pub ok: FileColor,
    pub warn: FileColor,
    pub critical: FileColor,
    pub stale: FileColor,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileColor(pub Color);

const ANSI_NAMES: [(&str, Color); 17] = [
    ("default", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("white", Color::Gray),
    ("bright_black", Color::DarkGray),
    ("bright_red", Color::LightRed),
    ("bright_green", Color::LightGreen),
    ("bright_yellow", Color::LightYellow),
    ("bright_blue", Color::LightBlue),
    ("bright_magenta", Color::LightMagenta),
    ("bright_cyan", Color::LightCyan),
    ("bright_white", Color::White),
];

/// Parse one colour as written in a theme file.
///
/// # Errors
/// A message naming what is accepted.
pub fn parse_color(text: &str) -> Result<Color, String> {
    let lower = text.trim().to_ascii_lowercase();
    if let Some((_, c)) = ANSI_NAMES.iter().find(|(n, _)| *n == lower) {
        return Ok(*c);
    }
    if let Some(hex) = lower.strip_prefix('#') {
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let v = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
            let [_, r, g, b] = v.to_be_bytes();
            return Ok(Color::Rgb(r, g, b));
        }
        return Err(format!("bad hex colour \"{text}\": expected #rrggbb"));
    }
    if let Ok(index) = lower.parse::<u8>() {
        return Ok(Color::Indexed(index));
    }
    Err(format!(
        "unknown colour \"{text}\": use default, an ANSI name (black, red, green, yellow, blue, magenta, cyan, white, or bright_ + one of those), a 0-255 index, or #rrggbb"
    ))
}

impl<'de> Deserialize<'de> for FileColor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_color(&text).map(FileColor).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_by_name_hex_and_index() {
        assert_eq!(parse_color("bright_black"), Ok(Color::DarkGray));
        assert_eq!(parse_color("#ff8000"), Ok(Color::Rgb(255, 128, 0)));
        assert_eq!(parse_color("208"), Ok(Color::Indexed(208)));
        assert!(parse_color("purpel").is_err_and(|e| e.contains("unknown colour \"purpel\"")));
        assert!(parse_color("#12").is_err());
    }
}
