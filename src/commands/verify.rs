//! `cutover verify`: compare source and target table by table.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr, eyre};
use tokio::sync::mpsc;

use crate::events::{ChecksumProgress, TableState, name_of};
use crate::format;
use crate::quantity::{self, Unit};
use crate::verify::catalog::TableName;
use crate::verify::{self, Mode, Options, Report, TableStatus};

pub struct Args {
    pub inventory: PathBuf,
    pub source: String,
    pub target: String,
    pub tables: Vec<String>,
    pub json: bool,
    pub journal: Option<PathBuf>,
    pub jobs: usize,
    pub mode: Option<Mode>,
    pub chunk_rows: u64,
    pub max_lag: String,
    pub rows_per_fetch: u64,
    pub settle: String,
}

/// Exit 0 when everything matches, 1 when differences were found, 2 on error.
pub async fn run(args: Args) -> i32 {
    match verify(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    }
}

async fn verify(args: Args) -> Result<i32> {
    let inventory = crate::inventory::load(&args.inventory)?;
    let endpoint = |name: &str| {
        inventory.endpoints.iter().find(|e| e.name == name).cloned().ok_or_else(|| {
            let names: Vec<&str> = inventory.endpoints.iter().map(|e| e.name.as_str()).collect();
            eyre!("no endpoint \"{name}\" in {} (it has: {})", args.inventory.display(), names.join(", "))
        })
    };
    let (source, target) = (endpoint(&args.source)?, endpoint(&args.target)?);
    // A size for PostgreSQL (WAL bytes), a duration for MongoDB (optime seconds).
    let defaults = Options::default();
    let (max_lag_bytes, max_lag_seconds) = match quantity::parse(&args.max_lag, Unit::Bytes) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(bytes) => (bytes as u64, defaults.max_lag_seconds),
        Err(as_size) => match quantity::parse(&args.max_lag, Unit::Seconds) {
            Ok(seconds) => (defaults.max_lag_bytes, seconds.clamp(0.0, 86_400.0)),
            Err(_) => return Err(eyre!("--max-lag: {as_size} (or a duration for MongoDB, e.g. 10s)")),
        },
    };
    let settle = quantity::parse(&args.settle, Unit::Seconds).map_err(|m| eyre!("--settle: {m}"))?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let options = Options {
        tables: args.tables.iter().map(|t| TableName::parse(t)).collect(),
        mode: args.mode,
        jobs: args.jobs,
        chunk_rows: args.chunk_rows.max(1),
        journal: args.journal.clone(),
        max_lag_bytes,
        max_lag_seconds,
        row_fetch_max: args.rows_per_fetch,
        settle: std::time::Duration::from_secs_f64(settle.clamp(0.0, 3600.0)),
    };
    let (tx, rx) = mpsc::channel(64);
    let show = std::io::stderr().is_terminal();
    let printer = tokio::spawn(progress(rx, show));
    let report = verify::run(&source, &target, &options, Some(tx)).await;
    let _ = printer.await;
    // A driver's message could echo a password: masked, in every spelling.
    let report = report.map_err(|e| eyre!("{}", inventory.secrets().scrub(&format!("{e:#}"))))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).wrap_err("encode the report")?);
    } else {
        print!("{}", text(&report));
    }
    Ok(report.exit_code())
}

/// A live line per table on the terminal: chunks, rows, rate, ETA, differences.
async fn progress(mut rx: mpsc::Receiver<ChecksumProgress>, show: bool) {
    let mut last_draw = Instant::now() - Duration::from_secs(1);
    let mut printed_done = 0;
    while let Some(p) = rx.recv().await {
        if !show {
            continue;
        }
        let mut err = std::io::stderr().lock();
        for t in p.tables.iter().skip(printed_done).filter(|t| t.state == TableState::Done) {
            let _ = writeln!(err, "\r\x1b[2K{}", line(t));
            printed_done += 1;
        }
        if let Some(current) = p.tables.last().filter(|t| t.state != TableState::Done) {
            if last_draw.elapsed() >= Duration::from_millis(200) {
                let _ = write!(err, "\r\x1b[2K{}", line(current));
                last_draw = Instant::now();
            }
        }
        let _ = err.flush();
    }
    if show {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}

#[allow(clippy::cast_precision_loss)]
fn line(t: &crate::events::TableProgress) -> String {
    let eta = if t.state == TableState::Done || t.rows_per_second <= 0.0 || t.chunks_done == 0 {
        String::new()
    } else {
        let per_chunk = t.rows as f64 / t.chunks_done as f64;
        let left = t.chunks_total.saturating_sub(t.chunks_done) as f64 * per_chunk / t.rows_per_second;
        format!(", ETA {}", format::seconds(left))
    };
    format!(
        "{:<32} {}/{} chunks, {} rows, {}/s{eta}, {} difference(s){}",
        t.table,
        t.chunks_done,
        t.chunks_total,
        format::count(t.rows as f64),
        format::count(t.rows_per_second),
        t.differences,
        if t.state == TableState::Done { " — done" } else { "" }
    )
}

fn text(report: &Report) -> String {
    let mode = match report.mode {
        Mode::ByName => "by_name — field order ignored".to_owned(),
        Mode::Strict => "strict — field order matters".to_owned(),
        other => name_of(&other),
    };
    let mut out = format!("mode: {mode} ({} → {})\n", report.source, report.target);
    for t in &report.tables {
        let status = name_of(&t.status);
        out.push_str(&format!(
            "{}: {status} — {} rows on source, {} on target, {} chunk(s), {} difference(s)\n",
            t.table,
            t.rows_source,
            t.rows_target,
            t.chunks,
            t.differences.len()
        ));
        for d in t.differences.iter().take(50) {
            out.push_str(&format!("  {} {}\n", name_of(&d.kind), d.key));
        }
        if t.differences.len() > 50 {
            out.push_str(&format!("  … {} more (use --json for all)\n", t.differences.len() - 50));
        }
        for note in t.warning.iter().chain(t.error.iter()) {
            out.push_str(&format!("  note: {note}\n"));
        }
    }
    let all_equal = report.tables.iter().all(|t| t.status == TableStatus::Equal);
    out.push_str(&format!(
        "{}: {} table(s), {} difference(s), {:.1}s\n",
        if all_equal { "EQUAL" } else { "DIFFERENT" },
        report.totals.tables,
        report.totals.differences,
        report.elapsed_seconds
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{DiffKind, Difference, TableReport, Totals};

    #[test]
    fn text_keeps_names_as_they_are_and_uses_the_json_words() {
        let table = TableReport {
            differences: vec![Difference { key: serde_json::json!({ "Id": 7 }), kind: DiffKind::MissingOnTarget }],
            ..TableReport::new(&TableName::parse("Sales.Orders"), TableStatus::Different)
        };
        let report = Report {
            mode: Mode::Portable,
            source: "Prod-EU".into(),
            target: "New-EU".into(),
            tables: vec![table],
            totals: Totals::default(),
            elapsed_seconds: 1.0,
        };
        let out = text(&report);
        assert!(out.starts_with("mode: portable (Prod-EU → New-EU)\n"), "{out}");
        assert!(out.contains("Sales.Orders: different"), "{out}");
        assert!(out.contains("  missing_on_target {\"Id\":7}"), "{out}");
        let mongo = Report { mode: Mode::ByName, tables: vec![], ..report.clone() };
        assert!(text(&mongo).starts_with("mode: by_name — field order ignored (Prod-EU → New-EU)\n"));
        let strict = Report { mode: Mode::Strict, tables: vec![], ..report };
        assert!(text(&strict).starts_with("mode: strict — field order matters (Prod-EU → New-EU)\n"));
    }
}
