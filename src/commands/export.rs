//! `cutover export JOURNAL --asciicast FILE`: a run's replay as a recording
//! to share (asciinema's format), made from the journal alone.
//!
//! Drawn for a browser's player, not for this terminal: the theme's colours
//! in full and Unicode symbols unless `--ascii`; `NO_COLOR` still honoured.

use std::io::BufWriter;
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr};

use crate::cli::{DisplayArgs, ExportArgs};
use crate::events::Action;
use crate::export::{self, Options};
use crate::replay::Timeline;
use crate::theme::{self, ColorMode, Theme};

pub fn run(display: &DisplayArgs, args: &ExportArgs) -> Result<i32> {
    let colours = ColorMode::detect(|key| match key {
        "TERM" => Some(export::asciicast::TERM.to_owned()),
        "COLORTERM" => Some("truecolor".to_owned()),
        _ => super::env(key),
    });
    let symbols = if display.ascii { theme::ASCII } else { theme::UNICODE };
    let theme = Theme::load(&display.theme, colours, symbols)?;

    let journal = crate::journal::read(&args.journal)?;
    let mut base = crate::replay::base_state(&args.journal, &journal.records);
    base.update(&Action::Resize { cols: args.cols, rows: args.rows });
    let title = base.title.clone();
    let timeline =
        Timeline::new(base, &journal.records).wrap_err_with(|| format!("cannot export {}", args.journal.display()))?;

    let options = Options {
        cols: args.cols,
        rows: args.rows,
        speed: args.speed,
        idle_limit: Some(args.idle_limit).filter(|d| !d.is_zero()),
    };
    // Written beside FILE and renamed over it when whole: never half a recording.
    let dir = args.asciicast.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file =
        tempfile::NamedTempFile::new_in(dir).wrap_err_with(|| format!("cannot create {}", args.asciicast.display()))?;
    let summary = export::asciicast(&timeline, &theme, &title, &options, BufWriter::new(file.as_file()))
        .wrap_err_with(|| format!("cannot write {}", args.asciicast.display()))?;
    file.persist(&args.asciicast).wrap_err_with(|| format!("cannot write {}", args.asciicast.display()))?;
    println!(
        "{}: {} frames, {} markers, {:.1} s of recording for {} of journal (play it: asciinema play {})",
        args.asciicast.display(),
        summary.frames,
        summary.markers,
        summary.duration.as_secs_f64(),
        crate::format::hms(timeline.end() - timeline.start()),
        args.asciicast.display(),
    );
    Ok(0)
}
