//! `cutover report JOURNAL -o FILE [--format html|md]`: a run's summary with
//! charts, from its journal alone.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr, eyre};

use crate::cli::{ReportArgs, ReportFormat};
use crate::report::{Summary, html, markdown};

/// Write the report; 0 on success.
///
/// # Errors
/// An unreadable or malformed journal, a journal with no records, or an
/// output that cannot be written — each naming its file.
pub fn run(args: &ReportArgs) -> Result<i32> {
    let journal = crate::journal::read(&args.journal)?;
    let name = args
        .journal
        .file_name()
        .map_or_else(|| args.journal.display().to_string(), |n| n.to_string_lossy().into_owned());
    let summary = Summary::from_records(&journal.records, &name)
        .ok_or_else(|| eyre!("{}: no records: not a journal of a run or session", args.journal.display()))?;
    let written = match args.format {
        ReportFormat::Html => {
            let page =
                html::render(&summary).wrap_err_with(|| format!("cannot report on {}", args.journal.display()))?;
            write(&args.output, &page)?;
            Vec::new()
        }
        ReportFormat::Md => {
            let stem =
                args.output.file_stem().map_or_else(|| "report".to_owned(), |s| s.to_string_lossy().into_owned());
            let (text, charts) = markdown::render(&summary, &stem)
                .wrap_err_with(|| format!("cannot report on {}", args.journal.display()))?;
            write(&args.output, &text)?;
            let dir = args.output.parent().map_or_else(PathBuf::new, Path::to_path_buf);
            let mut written = Vec::new();
            for chart in charts {
                let path = dir.join(&chart.file_name);
                write(&path, &chart.svg)?;
                written.push(path);
            }
            written
        }
    };
    println!("report written to {}", args.output.display());
    for path in written {
        println!("chart written to {}", path.display());
    }
    Ok(0)
}

/// Written as journals are, mode 0600: a report holds what the run showed.
fn write(path: &Path, text: &str) -> Result<()> {
    let mut file = crate::secrets::open_private(path, OpenOptions::new().write(true).create(true).truncate(true))
        .wrap_err_with(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes()).wrap_err_with(|| format!("cannot write {}", path.display()))
}
