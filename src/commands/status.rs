//! `cutover status --inventory FILE [--json]`: one sample of every gauge.

use std::path::Path;

use chrono::Utc;
use color_eyre::eyre::{Result, WrapErr};

use crate::collect;
use crate::events::name_of;
use crate::format;
use crate::status::StatusDoc;

/// Exit 0 whatever the servers said; an unusable inventory is the caller's error.
pub async fn run(inventory: &Path, json: bool) -> Result<i32> {
    let inventory = crate::inventory::load(inventory)?;
    for warning in &inventory.warnings {
        eprintln!("warning: {warning}");
    }
    let samples = collect::sample_once(inventory.endpoints.clone()).await;
    let doc = StatusDoc::new(&inventory, &samples, Utc::now());
    if json {
        println!("{}", serde_json::to_string_pretty(&doc).wrap_err("encode status as JSON")?);
    } else {
        print!("{}", text(&doc));
    }
    Ok(0)
}

#[allow(clippy::cast_precision_loss)]
fn text(doc: &StatusDoc) -> String {
    let mut out = String::new();
    let bytes = |b: Option<u64>| b.map_or_else(|| "-".to_owned(), |b| format::bytes(b as f64));
    let secs = |s: Option<f64>| s.map_or_else(|| "-".to_owned(), format::seconds);
    for e in &doc.endpoints {
        let roles: Vec<String> = e.roles.iter().map(name_of).collect();
        if e.reachable {
            out.push_str(&format!(
                "{} ({}, {}): up{}\n",
                e.name,
                e.kind.as_str(),
                e.dsn,
                if roles.is_empty() { String::new() } else { format!(", {}", roles.join(" + ")) }
            ));
        } else {
            out.push_str(&format!(
                "{} ({}, {}): UNREACHABLE: {}\n",
                e.name,
                e.kind.as_str(),
                e.dsn,
                e.error.as_deref().unwrap_or("")
            ));
            continue;
        }
        for l in &e.replication {
            let kind = name_of(&l.kind);
            out.push_str(&format!(
                "  {kind} {}: {} lag {} {}\n",
                l.name,
                l.state,
                bytes(l.lag_bytes),
                secs(l.lag_seconds)
            ));
        }
        if let Some(p) = &e.pool {
            out.push_str(&format!(
                "  connections {}/{} ({} active, {} idle in transaction), {} waiting on locks, oldest transaction {}\n",
                p.connections,
                p.max_connections,
                p.active,
                p.idle_in_transaction,
                p.waiting,
                secs(p.oldest_xact_seconds)
            ));
        }
        for b in &e.pgbouncer {
            out.push_str(&format!(
                "  pool {}/{}: {} active, {} waiting (max wait {}), servers {} active {} idle\n",
                b.database,
                b.user,
                b.cl_active,
                b.cl_waiting,
                format::seconds(b.maxwait_seconds),
                b.sv_active,
                b.sv_idle
            ));
        }
        if let Some(d) = &e.disk {
            out.push_str(&format!(
                "  disk {}: {} free of {}, database {}, WAL {}, held by slots {}\n",
                d.mount.as_deref().unwrap_or("(remote)"),
                bytes(d.free_bytes),
                bytes(d.total_bytes),
                bytes(d.database_bytes),
                bytes(d.wal_bytes),
                bytes(d.slot_retained_bytes)
            ));
        }
        for n in &e.notes {
            out.push_str(&format!("  note: {n}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EndpointKind, EndpointSample, LinkKind, Reading, ReplicationLink, Role, Sample};

    #[test]
    fn text_keeps_names_and_states_as_the_server_gave_them() {
        let inventory = crate::inventory::parse(
            "inv.toml",
            "[endpoints.Primary]\nkind = \"postgres\"\ndsn = \"host=db user=u\"\n",
            &|_| None,
        )
        .unwrap();
        let link = ReplicationLink {
            name: "Standby-East".into(),
            kind: LinkKind::Physical,
            state: "streaming".into(),
            ..ReplicationLink::default()
        };
        let observed =
            EndpointSample { roles: vec![Role::Primary], replication: vec![link], ..EndpointSample::default() };
        let sample = Sample {
            at: Utc::now(),
            endpoint: "Primary".into(),
            kind: EndpointKind::Postgres,
            reading: Reading::Observed(observed),
        };
        let out = text(&StatusDoc::new(&inventory, &[sample], Utc::now()));
        assert!(out.starts_with("Primary (postgres, "), "{out}");
        assert!(out.contains("): up, primary\n"), "{out}");
        assert!(out.contains("  physical Standby-East: streaming lag - -\n"), "{out}");
    }
}
