//! The MongoDB collector: replica-set member lag from `replSetGetStatus` (the
//! primary's optime against each member's), the oplog window, connections
//! from `serverStatus`, disk from `dbStats`. Cheap admin commands only.

use mongodb::Client;
use mongodb::bson::{Bson, Document, doc};

use crate::endpoint::mongo::{error_code, short_error};
use crate::events::{
    DiskReading, EndpointSample, LinkKind, MemberSelf, OutgoingPool, PoolReading, ReplicationLink, Role,
};

/// A number whatever its BSON type (the server answers Int32, Int64 or
/// Double for the same field: `dbStats` gives Int32 0 for a database that
/// does not exist, a Double otherwise).
#[must_use]
pub fn number(value: &Bson) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    match value {
        Bson::Int32(v) => Some(f64::from(*v)),
        Bson::Int64(v) => Some(*v as f64),
        Bson::Double(v) => Some(*v),
        _ => None,
    }
}

fn num(doc: &Document, key: &str) -> Option<f64> {
    doc.get(key).and_then(number)
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn to_u64(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 { v as u64 } else { 0 }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn to_u32(v: f64) -> u32 {
    if v.is_finite() && v > 0.0 { v.min(f64::from(u32::MAX)) as u32 } else { 0 }
}

/// One round of figures. `direct`: the client talks to one member
/// (`directConnection=true`), so the figures are that member's: its own
/// state and lag, not the whole set's.
///
/// # Errors
/// The server did not answer (a refused command becomes a note instead).
pub async fn sample(client: &Client, database: &str, direct: bool) -> Result<EndpointSample, mongodb::error::Error> {
    let admin = client.database("admin");
    let mut out = EndpointSample::default();
    let hello = admin.run_command(doc! { "hello": 1 }).await?;
    out.server_version = admin
        .run_command(doc! { "buildInfo": 1 })
        .await
        .ok()
        .and_then(|b| b.get_str("version").ok().map(|v| format!("MongoDB {v}")));
    out.roles.push(if hello.get_bool("isWritablePrimary").unwrap_or(false) { Role::Primary } else { Role::Standby });

    match admin.run_command(doc! { "replSetGetStatus": 1 }).await {
        Ok(status) => {
            out.replication = members(&status);
            if direct {
                out.member = own_member(&status);
                let own = out.member.as_ref().map(|m| m.name.clone());
                out.replication.retain(|l| Some(&l.name) == own.as_ref());
            }
        }
        Err(e) => {
            match error_code(&e) {
                // Not started with --replSet: no set, nothing to say.
                Some(76) => {}
                // InvalidReplicaSetConfig: the member was removed from its set.
                Some(93) if direct => {
                    let name = hello.get_str("me").unwrap_or_default().to_owned();
                    out.member = Some(MemberSelf { name, state: "REMOVED".to_owned() });
                }
                _ => out.notes.push(format!("replSetGetStatus: {}", short_error(&e))),
            }
        }
    }
    out.oplog_window_seconds = oplog_window(client).await;

    match admin.run_command(doc! { "serverStatus": 1, "repl": 0, "metrics": 0, "locks": 0, "wiredTiger": 0 }).await {
        Ok(status) => {
            if let Ok(c) = status.get_document("connections") {
                let current = num(c, "current").unwrap_or(0.0);
                let available = num(c, "available").unwrap_or(0.0);
                let active = num(c, "active").unwrap_or(0.0);
                out.pool = Some(PoolReading {
                    connections: to_u32(current),
                    max_connections: to_u32(current + available),
                    active: to_u32(active),
                    idle: to_u32(current - active),
                    idle_in_transaction: 0,
                    // Operations queued for a lock: what `lockw` shows for PostgreSQL.
                    waiting: status
                        .get_document("globalLock")
                        .and_then(|g| g.get_document("currentQueue"))
                        .ok()
                        .and_then(|q| num(q, "total"))
                        .map_or(0, to_u32),
                    oldest_xact_seconds: None,
                    outgoing: None,
                });
            }
        }
        Err(e) => out.notes.push(format!("serverStatus: {}", short_error(&e))),
    }

    match admin.run_command(doc! { "connPoolStats": 1 }).await {
        Ok(stats) => {
            if let Some(pool) = out.pool.as_mut() {
                pool.outgoing = Some(OutgoingPool {
                    in_use: num(&stats, "totalInUse").map_or(0, to_u32),
                    available: num(&stats, "totalAvailable").map_or(0, to_u32),
                    created: num(&stats, "totalCreated").map_or(0, to_u64),
                });
            }
        }
        Err(e) => out.notes.push(format!("connPoolStats: {}", short_error(&e))),
    }

    match client.database(database).run_command(doc! { "dbStats": 1, "scale": 1 }).await {
        Ok(stats) => {
            let used = num(&stats, "fsUsedSize").filter(|v| *v > 0.0);
            let total = num(&stats, "fsTotalSize").filter(|v| *v > 0.0);
            out.disk = Some(DiskReading {
                mount: String::new(),
                free_bytes: used.zip(total).map(|(u, t)| to_u64(t - u)),
                total_bytes: total.map(to_u64),
                database_bytes: num(&stats, "storageSize").map(to_u64),
                wal_bytes: None,
                slot_retained_bytes: None,
            });
        }
        Err(e) => out.notes.push(format!("dbStats: {}", short_error(&e))),
    }
    Ok(out)
}

/// One link per member that is not the primary: its state, health and how
/// far its optime is behind the primary's.
fn members(status: &Document) -> Vec<ReplicationLink> {
    let Ok(members) = status.get_array("members") else { return Vec::new() };
    let members: Vec<&Document> = members.iter().filter_map(Bson::as_document).collect();
    let optime = |m: &Document| m.get_datetime("optimeDate").ok().map(|d| d.timestamp_millis());
    let primary = members.iter().find(|m| m.get_str("stateStr") == Ok("PRIMARY")).and_then(|m| optime(m));
    members
        .iter()
        .filter(|m| m.get_str("stateStr") != Ok("PRIMARY"))
        .map(|m| {
            let healthy = num(m, "health").unwrap_or(0.0) >= 1.0;
            let state = m.get_str("stateStr").unwrap_or("UNKNOWN").to_owned();
            #[allow(clippy::cast_precision_loss)]
            let lag = match (healthy, primary, optime(m)) {
                (true, Some(p), Some(o)) => Some(((p - o).max(0)) as f64 / 1000.0),
                _ => None,
            };
            ReplicationLink {
                name: m.get_str("name").unwrap_or("?").to_owned(),
                kind: LinkKind::Member,
                // Short: the pane has room for a word or two.
                state: if healthy { state } else { "unreachable".to_owned() },
                lag_seconds: lag,
                ..ReplicationLink::default()
            }
        })
        .collect()
}

/// The member that answered `replSetGetStatus` (`self: true`).
fn own_member(status: &Document) -> Option<MemberSelf> {
    let members = status.get_array("members").ok()?;
    let own = members.iter().filter_map(Bson::as_document).find(|m| m.get_bool("self") == Ok(true))?;
    Some(MemberSelf {
        name: own.get_str("name").ok()?.to_owned(),
        state: own.get_str("stateStr").unwrap_or("UNKNOWN").to_owned(),
    })
}

/// How far back the oplog reaches, in seconds (None when there is no oplog).
async fn oplog_window(client: &Client) -> Option<f64> {
    let oplog = client.database("local").collection::<Document>("oplog.rs");
    let first = oplog.find_one(doc! {}).sort(doc! { "$natural": 1 }).await.ok()??;
    let last = oplog.find_one(doc! {}).sort(doc! { "$natural": -1 }).await.ok()??;
    let (Ok(a), Ok(b)) = (first.get_timestamp("ts"), last.get_timestamp("ts")) else { return None };
    Some(f64::from(b.time.saturating_sub(a.time)))
}
