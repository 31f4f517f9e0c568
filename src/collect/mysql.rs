//! The MySQL and MariaDB collector. Statements both servers understand:
//!
//! - `SHOW GLOBAL VARIABLES` / `SHOW GLOBAL STATUS` for `read_only` (and
//!   MySQL's `super_read_only`), `max_connections`, `datadir`, GTID
//!   positions, `Threads_connected` and `Threads_running`;
//! - `information_schema.innodb_trx` (with `PROCESSLIST`) for the oldest open
//!   transaction, sessions idle in one, and lock waits — it needs the
//!   `PROCESS` privilege, and without it those figures are unknown (a note);
//! - `SHOW REPLICA STATUS` on a replica: the replica's own view of its link.
//!   MariaDB names the columns after the master (`Seconds_Behind_Master`,
//!   `Slave_IO_Running`, `Read_Master_Log_Pos`), MySQL 8.0.22+ after the
//!   source (`Seconds_Behind_Source`, `Replica_IO_Running`, …): both are read;
//! - `SHOW BINARY LOGS` for the binlog kept, and `information_schema.tables`
//!   for the data size of the endpoint's database.
//!
//! Lag is the replica's: seconds as the server reports them, bytes as the
//! binlog read but not yet applied (in the same file; unknown across a
//! rotation). A replica whose IO thread does not run has an unknown lag,
//! not zero: it no longer hears what the source writes.

use std::collections::HashMap;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use crate::endpoint::mysql::{Flavor, Session, error_code, short_error};
use crate::events::{
    DiskReading, EndpointSample, HIDDEN_SESSIONS, LinkKind, MysqlServer, PoolReading, ReplicationLink, Role,
};

/// ER_SPECIFIC_ACCESS_DENIED_ERROR: the statement needs a privilege we lack.
const ACCESS_DENIED: [u16; 2] = [1227, 1142];
/// ER_NO_BINARY_LOGGING: `SHOW BINARY LOGS` on a server without binlog.
const NO_BINARY_LOGGING: u16 = 1381;

/// One round of figures.
///
/// # Errors
/// The server did not answer (a refused statement becomes a note instead).
pub async fn sample(session: &mut Session) -> Result<EndpointSample, mysql_async::Error> {
    let flavor = session.flavor;
    let conn = &mut session.conn;
    let mut out =
        EndpointSample { server_version: Some(version_label(&session.version, flavor)), ..Default::default() };
    let variables = pairs(
        conn,
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'super_read_only', 'max_connections', \
         'datadir', 'log_bin', 'gtid_binlog_pos', 'gtid_executed')",
    )
    .await?;
    let status =
        pairs(conn, "SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Threads_running')").await?;
    let on = |name: &str| variables.get(name).is_some_and(|v| v == "ON" || v == "1");
    let mut server = MysqlServer {
        read_only: if on("super_read_only") {
            "super"
        } else if on("read_only") {
            "on"
        } else {
            "off"
        }
        .to_owned(),
        position: variables
            .get("gtid_binlog_pos")
            .or_else(|| variables.get("gtid_executed"))
            .filter(|p| !p.is_empty())
            .cloned(),
        ..MysqlServer::default()
    };

    let number = |map: &HashMap<String, String>, name: &str| map.get(name).and_then(|v| v.parse::<u32>().ok());
    let connected = number(&status, "Threads_connected").unwrap_or(0);
    let running = number(&status, "Threads_running").unwrap_or(0);
    let mut pool = PoolReading {
        connections: connected,
        max_connections: number(&variables, "max_connections").unwrap_or(0),
        active: running,
        idle: connected.saturating_sub(running),
        idle_in_transaction: 0,
        waiting: 0,
        oldest_xact_seconds: None,
        outgoing: None,
    };
    match transactions(conn).await {
        Ok((idle_in_transaction, waiting, oldest)) => {
            pool.idle_in_transaction = idle_in_transaction;
            pool.waiting = waiting;
            pool.oldest_xact_seconds = oldest;
        }
        Err(e) if error_code(&e).is_some_and(|c| ACCESS_DENIED.contains(&c)) => out
            .notes
            .push(format!("open transactions {HIDDEN_SESSIONS} (grant PROCESS to see them): {}", short_error(&e))),
        Err(e) if error_code(&e).is_some() => out.notes.push(format!("innodb_trx: {}", short_error(&e))),
        Err(e) => return Err(e),
    }
    out.pool = Some(pool);

    match replica_status(conn).await {
        Ok(Some(row)) => {
            out.roles.push(Role::Standby);
            let (link, error) = link(&row);
            out.replication.push(link);
            out.notes.extend(error);
        }
        Ok(None) => out.roles.push(Role::Primary),
        Err(e) if error_code(&e).is_some() => {
            out.roles.push(Role::Primary);
            out.notes.push(format!("replica status: {}", short_error(&e)));
        }
        Err(e) => return Err(e),
    }

    // MySQL 8 adds an `Encrypted` column: read by name.
    match conn.query::<Row, _>("SHOW BINARY LOGS").await {
        Ok(logs) => {
            server.binlog_files = u32::try_from(logs.len()).ok();
            server.binlog_bytes = Some(logs.iter().filter_map(|l| text(l, &["File_size"])?.parse::<u64>().ok()).sum());
        }
        Err(e) if error_code(&e) == Some(NO_BINARY_LOGGING) => {}
        Err(e) if error_code(&e).is_some() => out.notes.push(format!("binary logs: {}", short_error(&e))),
        Err(e) => return Err(e),
    }
    if server.position.is_none() && on("log_bin") {
        server.position = binlog_position(conn).await;
    }

    let size: Option<Option<u64>> = conn
        .query_first(
            "SELECT CAST(SUM(data_length + index_length) AS UNSIGNED) FROM information_schema.tables \
             WHERE IF(DATABASE() IS NULL, table_schema NOT IN ('mysql', 'information_schema', \
             'performance_schema', 'sys'), table_schema = DATABASE())",
        )
        .await?;
    out.disk = Some(DiskReading {
        mount: variables.get("datadir").cloned().unwrap_or_default(),
        free_bytes: None,
        total_bytes: None,
        database_bytes: size.flatten(),
        wal_bytes: server.binlog_bytes,
        slot_retained_bytes: None,
    });
    out.mysql = Some(server);
    Ok(out)
}

/// `MariaDB 10.11.19` or `MySQL 8.0.36`: the version's first words.
fn version_label(version: &str, flavor: Flavor) -> String {
    let number = version.split(['-', ' ']).next().unwrap_or(version);
    match flavor {
        Flavor::Mariadb => format!("MariaDB {number}"),
        Flavor::Mysql => format!("MySQL {number}"),
    }
}

/// `Variable_name` → `Value` rows.
async fn pairs(conn: &mut Conn, sql: &str) -> Result<HashMap<String, String>, mysql_async::Error> {
    Ok(conn.query::<(String, String), _>(sql).await?.into_iter().collect())
}

/// Sessions idle in a transaction, transactions waiting on a lock, and the
/// age of the oldest open one (this session's own excluded).
async fn transactions(conn: &mut Conn) -> Result<(u32, u32, Option<f64>), mysql_async::Error> {
    let row: Option<(u32, u32, Option<f64>)> = conn
        .query_first(
            "SELECT CAST(COALESCE(SUM(p.COMMAND = 'Sleep'), 0) AS UNSIGNED), \
                    CAST(COALESCE(SUM(t.trx_state = 'LOCK WAIT'), 0) AS UNSIGNED), \
                    CAST(MAX(TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6))) / 1e6 AS DOUBLE) \
             FROM information_schema.innodb_trx t \
             LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
             WHERE t.trx_mysql_thread_id <> CONNECTION_ID()",
        )
        .await?;
    Ok(row.unwrap_or((0, 0, None)))
}

/// The default connection's `SHOW REPLICA STATUS` row (`SHOW SLAVE STATUS`
/// on servers older than MariaDB 10.5 / MySQL 8.0.22); `None` on a server
/// that replicates from nobody.
async fn replica_status(conn: &mut Conn) -> Result<Option<Row>, mysql_async::Error> {
    match conn.query_first::<Row, _>("SHOW REPLICA STATUS").await {
        // ER_PARSE_ERROR: an older server.
        Err(e) if error_code(&e) == Some(1064) => conn.query_first::<Row, _>("SHOW SLAVE STATUS").await,
        other => other,
    }
}

/// `file:offset` from `SHOW MASTER STATUS` (MySQL 8.4: `SHOW BINARY LOG STATUS`).
async fn binlog_position(conn: &mut Conn) -> Option<String> {
    for sql in ["SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"] {
        if let Ok(Some(row)) = conn.query_first::<Row, _>(sql).await {
            let file = text(&row, &["File"])?;
            let offset = text(&row, &["Position"])?;
            return Some(format!("{file}:{offset}"));
        }
    }
    None
}

/// A column of a status row as text, by the first of `names` it has
/// (MariaDB's and MySQL's names for the same figure); empty counts as none.
fn text(row: &Row, names: &[&str]) -> Option<String> {
    let columns = row.columns_ref();
    let index = names.iter().find_map(|n| columns.iter().position(|c| c.name_str() == *n))?;
    match row.as_ref(index)? {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()).filter(|s| !s.is_empty()),
        other => Some(other.as_sql(true).trim_matches('\'').to_owned()),
    }
}

/// The replica's link, and its last error as a note.
fn link(row: &Row) -> (ReplicationLink, Option<String>) {
    let yes = |names: &[&str]| text(row, names).is_some_and(|v| v == "Yes");
    let io = yes(&["Slave_IO_Running", "Replica_IO_Running"]);
    let connecting = text(row, &["Slave_IO_Running", "Replica_IO_Running"]).is_some_and(|v| v == "Connecting");
    let sql = yes(&["Slave_SQL_Running", "Replica_SQL_Running"]);
    let read = (
        text(row, &["Master_Log_File", "Source_Log_File"]),
        text(row, &["Read_Master_Log_Pos", "Read_Source_Log_Pos"]),
    );
    let exec = (
        text(row, &["Relay_Master_Log_File", "Relay_Source_Log_File"]),
        text(row, &["Exec_Master_Log_Pos", "Exec_Source_Log_Pos"]),
    );
    let lag_bytes = match (io, read, exec) {
        (true, (Some(rf), Some(rp)), (Some(ef), Some(ep))) if rf == ef => {
            let (rp, ep) = (rp.parse::<u64>().ok(), ep.parse::<u64>().ok());
            rp.zip(ep).map(|(r, e)| r.saturating_sub(e))
        }
        _ => None,
    };
    let lag_seconds = text(row, &["Seconds_Behind_Master", "Seconds_Behind_Source"])
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|_| io);
    let error =
        text(row, &["Last_IO_Error"]).or_else(|| text(row, &["Last_SQL_Error"])).or_else(|| text(row, &["Last_Error"]));
    let state = match (io, sql, connecting) {
        (true, true, _) => "streaming",
        (_, _, true) => "connecting",
        (false, true, false) => "io stopped",
        (true, false, _) => "sql stopped",
        (false, false, false) => "stopped",
    };
    let state = if error.is_some() { format!("{state}, error") } else { state.to_owned() };
    let source = match (text(row, &["Master_Host", "Source_Host"]), text(row, &["Master_Port", "Source_Port"])) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h,
        _ => "source".to_owned(),
    };
    let position = text(row, &["Gtid_IO_Pos", "Executed_Gtid_Set"]).or_else(|| {
        let (file, offset) = (
            text(row, &["Relay_Master_Log_File", "Relay_Source_Log_File"])?,
            text(row, &["Exec_Master_Log_Pos", "Exec_Source_Log_Pos"])?,
        );
        Some(format!("{file}:{offset}"))
    });
    let link = ReplicationLink {
        name: source,
        kind: LinkKind::Binlog,
        state,
        lag_bytes,
        lag_seconds,
        position,
        ..ReplicationLink::default()
    };
    (link, error.map(|e| format!("replication error: {e}")))
}
