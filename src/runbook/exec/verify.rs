//! `verify` steps: the checksum engine between two endpoints of one kind, its
//! progress forwarded as [`Emitted::Checksum`] and its verdict the outcome.

use chrono::Utc;
use tokio::sync::mpsc;

use super::{Emitted, Executor, Outcome};
use crate::events::{ChecksumProgress, TableProgress, TableState};
use crate::runbook::ActionDef;
use crate::runbook::checker::Checker;
use crate::runbook::file::VerifyStep;
use crate::verify::{self, TableStatus};

/// The checker's part: a source and a target, both PostgreSQL or both
/// MongoDB, or a MySQL source and its PostgreSQL target.
pub(in crate::runbook) fn check(c: &mut Checker<'_>, verify: &VerifyStep) -> Option<ActionDef> {
    let source = c.endpoint(&verify.source, &["postgres", "mongodb", "mysql"], "verify");
    let target = c.endpoint(&verify.target, &["postgres", "mongodb"], "verify");
    let kind = |name: &str| c.endpoints.get(name).map(|e| e.get_ref().kind.get_ref().clone());
    if let (Some(a), Some(b)) = (kind(&source), kind(&target)) {
        if a != b && !(a == "mysql" && b == "postgres") {
            c.error(
                verify.target.span().start,
                format!("verify compares like with like: \"{source}\" is {a}, \"{target}\" is {b}"),
            );
        }
    }
    let tables = verify.tables.iter().map(|t| t.get_ref().clone()).collect();
    let settle = match &verify.settle {
        None => std::time::Duration::ZERO,
        Some(text) => match crate::quantity::parse(text.get_ref(), crate::quantity::Unit::Seconds) {
            Ok(secs) if (0.0..=3600.0).contains(&secs) => std::time::Duration::from_secs_f64(secs),
            Ok(_) => {
                c.error(text.span().start, "verify: settle must be between 0s and 1h");
                std::time::Duration::ZERO
            }
            Err(message) => {
                c.error(text.span().start, format!("verify: settle: {message}"));
                std::time::Duration::ZERO
            }
        },
    };
    Some(ActionDef::Verify { source, target, tables, settle })
}

impl Executor {
    pub(super) async fn verify(
        &mut self,
        source: &str,
        target: &str,
        tables: &[String],
        settle: std::time::Duration,
    ) -> Result<Outcome, String> {
        let (source_ep, target_ep) = (self.endpoint(source)?, self.endpoint(target)?);
        let options = verify::Options {
            tables: tables.iter().map(|t| verify::catalog::TableName::parse(t)).collect(),
            settle,
            ..verify::Options::default()
        };
        let (tx, mut rx) = mpsc::channel::<ChecksumProgress>(64);
        let out = self.out.clone();
        let forward = tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                let _ = out.send(Emitted::Checksum(p));
            }
        });
        let report = verify::run(&source_ep, &target_ep, &options, Some(tx)).await;
        let _ = forward.await;
        let report = report.map_err(|e| format!("verification failed: {e:#}"))?;
        let mut progress = Vec::new();
        for t in &report.tables {
            let differences = match t.status {
                TableStatus::MissingOnSource | TableStatus::MissingOnTarget => (t.differences.len() as u64).max(1),
                _ => t.differences.len() as u64,
            };
            self.say(format!(
                "{}: {} ({} rows, {} chunks{})",
                t.table,
                crate::events::name_of(&t.status).replace('_', " "),
                t.rows_source,
                t.chunks,
                if differences > 0 { format!(", {differences} differences") } else { String::new() }
            ));
            for note in t.warning.iter().chain(&t.error) {
                self.say(format!("  {note}"));
            }
            progress.push(TableProgress {
                table: t.table.clone(),
                state: if t.status == TableStatus::Error { TableState::Failed } else { TableState::Done },
                chunks_done: t.chunks,
                chunks_total: t.chunks,
                rows: t.rows_source,
                rows_per_second: 0.0,
                differences,
            });
        }
        let _ = self.out.send(Emitted::Checksum(ChecksumProgress { at: Utc::now(), tables: progress }));
        let tables_n = report.tables.len();
        let what = if source_ep.mongo.is_some() { "collection" } else { "table" };
        let plural = if tables_n == 1 { "" } else { "s" };
        Ok(match report.exit_code() {
            0 => Outcome::ok(format!("{tables_n} {what}{plural} equal")),
            1 => Outcome::failed(format!(
                "{} differences in {} of {tables_n} {what}{plural}",
                report.totals.differences.max(report.totals.tables_different),
                report.totals.tables_different
            )),
            _ => Outcome::failed(format!("a {what} could not be verified")),
        })
    }
}
